/**
 * Run history in IndexedDB, so a reload loses nothing: one record per finished run with a
 * small thumbnail of the image (a Blob, ≤ 160 px on its longer side), the question, the
 * method settings, the answer, the trace and the timing figures. Listed newest first,
 * exportable as one JSON document (thumbnails as data: URLs), deletable one by one or all.
 * The database code needs a browser (tested in e2e/persist.spec.ts); the shaping of records and
 * exports is plain functions (tested in Node, runsDb.test.ts).
 */
import type { ConversationTurn, MethodSettings } from '../../engine/protocol';
import type { RequestTrace } from '../../common/trace';

export const RUNS_DB = 'sparsevlm-runs';
const STORE = 'runs';
const VERSION = 1;

export interface RunMetrics {
  tokenCount: number;
  firstTokenMs: number | null;
  totalMs: number | null;
  /** Decode speed after the first token. */
  tokensPerS: number | null;
}

export interface StoredRun {
  /** Unique across reloads (the protocol's request ids restart at 1). */
  id: string;
  createdAt: number;
  model: string | null;
  imageName: string;
  /** Small JPEG/PNG of the image, null where none could be made. */
  thumbnail: Blob | null;
  /**
   * The image as it was asked about (its bytes), so Show puts the run's own picture back; absent
   * in runs saved before it was kept, null where the image had changed before the run was saved.
   */
  image?: Blob | null;
  /**
   * Every image of a run over several images or video frames, in prompt order (issue 15), so
   * Show puts them all back; absent for one image and in runs saved before they were kept.
   */
  images?: { name: string; blob: Blob }[];
  /** A follow-up's earlier turns, oldest first (absent on a first question). */
  history?: ConversationTurn[];
  question: string;
  settings: MethodSettings;
  /** The answer length asked for (absent in runs saved before it was kept). */
  maxNewTokens?: number;
  label: string;
  answer: string;
  trace: RequestTrace | null;
  metrics: RunMetrics;
}

/** What the list shows: everything but the trace (hundreds of KB) and the image (megabytes). */
export type RunSummary = Omit<StoredRun, 'trace' | 'image' | 'images'>;

export function newRunId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${crypto.randomUUID().slice(0, 8)}`; // fixed width: ids sort by time as strings
}

export function runMetrics(
  tokenCount: number,
  firstTokenMs: number | null,
  lastTokenMs: number | null,
  totalMs: number | null,
): RunMetrics {
  const decodeMs = firstTokenMs !== null && lastTokenMs !== null ? lastTokenMs - firstTokenMs : null;
  const tokensPerS = decodeMs && decodeMs > 0 && tokenCount > 1 ? ((tokenCount - 1) * 1000) / decodeMs : null;
  return { tokenCount, firstTokenMs, totalMs, tokensPerS };
}

/** Thumbnail size: the longer side `max` px at most, aspect kept, never upscaled, ≥ 1 px. */
export function thumbnailSize(width: number, height: number, max = 160): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height, 1));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export interface RunExport {
  format: 'sparsevlm-runs';
  version: 1;
  exportedAt: string;
  /** The image bytes stay in the browser: the export carries the thumbnail only. */
  runs: (Omit<StoredRun, 'thumbnail' | 'image' | 'images'> & { thumbnail: string | null })[];
}

/** The export document; `thumbnails` maps run id → data: URL (made by blobToDataUrl). */
export function buildExport(runs: StoredRun[], thumbnails: Map<string, string>, now = new Date()): RunExport {
  return {
    format: 'sparsevlm-runs',
    version: 1,
    exportedAt: now.toISOString(),
    runs: [...runs]
      .sort((a, b) => b.createdAt - a.createdAt)
      .map(({ image: _image, images: _images, ...r }) => ({ ...r, thumbnail: thumbnails.get(r.id) ?? null })),
  };
}

export async function blobToDataUrl(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:${blob.type || 'application/octet-stream'};base64,${btoa(binary)}`;
}

/** A thumbnail from encoded image bytes (browser: createImageBitmap + OffscreenCanvas); null if it cannot decode. */
export async function makeThumbnail(image: Blob, max = 160): Promise<Blob | null> {
  try {
    const bitmap = await createImageBitmap(image);
    const size = thumbnailSize(bitmap.width, bitmap.height, max);
    const canvas = new OffscreenCanvas(size.width, size.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    bitmap.close();
    return await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  } catch {
    return null;
  }
}

const request = <T>(req: IDBRequest<T>) =>
  new Promise<T>((ok, fail) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });

/** One IndexedDB database with one object store keyed by run id, indexed by createdAt. */
export class RunsDb {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name = RUNS_DB): Promise<RunsDb> {
    const req = indexedDB.open(name, VERSION);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'id' });
      store.createIndex('createdAt', 'createdAt');
    };
    return new RunsDb(await request(req));
  }

  private store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async put(run: StoredRun): Promise<void> {
    await request(this.store('readwrite').put(run));
  }

  async get(id: string): Promise<StoredRun | null> {
    return (await request(this.store('readonly').get(id))) ?? null;
  }

  /** Newest first, without traces. */
  async list(): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const cursorReq = this.store('readonly').index('createdAt').openCursor(null, 'prev');
    await new Promise<void>((ok, fail) => {
      cursorReq.onerror = () => fail(cursorReq.error);
      cursorReq.onsuccess = () => {
        const cursor = cursorReq.result;
        if (!cursor) return ok();
        const { trace: _trace, image: _image, images: _images, ...summary } = cursor.value as StoredRun;
        out.push(summary);
        cursor.continue();
      };
    });
    return out;
  }

  async delete(id: string): Promise<void> {
    await request(this.store('readwrite').delete(id));
  }

  async clear(): Promise<void> {
    await request(this.store('readwrite').clear());
  }

  /** Every run (or those in `ids`) as a JSON Blob to download. */
  async export(ids?: string[]): Promise<Blob> {
    const all = (await request(this.store('readonly').getAll())) as StoredRun[];
    const runs = ids ? all.filter((r) => ids.includes(r.id)) : all;
    const thumbs = new Map<string, string>();
    for (const r of runs) if (r.thumbnail) thumbs.set(r.id, await blobToDataUrl(r.thumbnail));
    return new Blob([JSON.stringify(buildExport(runs, thumbs), null, 2)], { type: 'application/json' });
  }

  close(): void {
    this.db.close();
  }
}
