/**
 * Hub id → model package in the browser's storage, without installing anything:
 *   1. list the repo's files (hub.ts: HEAD on the known names, the index's shards) and their ETags
 *   2. read config.json and refuse what cannot work (preflight.ts: architecture, adapter
 *      limits, GPU memory, storage quota against download + package) before any weights move
 *   3. download each file into OPFS `downloads/<repo>/` with Range requests (rangeDownload.ts:
 *      resumable across drops and reloads, length- and sha256-checked)
 *   4. open the downloaded files with the same openCheckpoint + convertCheckpoint as the CLI and
 *      write the package through the sink the caller gives (the OPFS store, src/package/opfsStore.ts)
 * Meant for a dedicated worker (convertWorker.ts): there OPFS writes go through sync access
 * handles and the quantiser does not block the page.
 */
import { blobFolder, openCheckpoint } from '../checkpoint/checkpoint';
import { parseLlavaConfig } from '../checkpoint/config';
import { convertCheckpoint } from '../convert';
import { ConvertError } from '../../common/errors';
import { hubEndpoint, hubInit, hubUrl, listHubFiles, type HubFile, type HubOptions } from '../checkpoint/hub';
import { RateMeter } from './meter';
import { opfsPartialFile, opfsStateStore } from './opfs';
import { preflight, type AdapterBudget, type StorageFigures } from './preflight';
import { probeHub } from './probe';
import { DEFAULT_RETRY, downloadFile, type RetryPolicy } from './rangeDownload';
import type { PackageDtype } from '../../package/manifest';
import type { PackageSink } from '../../package/sink';
import { dirAt, fileAt, opfsRoot, removeEntry } from '../../package/opfs';

export type BrowserConvertPhase = 'listing' | 'preflight' | 'download' | 'convert' | 'done';

export interface BrowserConvertProgress {
  phase: BrowserConvertPhase;
  /** The file being downloaded or written. */
  file?: string;
  /** download: checkpoint bytes on disk / to fetch in all; convert: package bytes written / estimated. */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the last seconds, and seconds left at that rate (null: unknown yet). */
  rate: number | null;
  etaS: number | null;
  filesDone: number;
  filesTotal: number;
  graphsDone?: number;
  graphsTotal?: number;
  /** Set while a fault is being retried ("HTTP 500, retry 2 in 1 s"). */
  retrying?: string;
}

export interface BrowserConvertOptions {
  /** Hub id, "org/name". */
  id: string;
  /** Hub base URL (HF_ENDPOINT's role); default https://huggingface.co. */
  endpoint?: string;
  revision?: string;
  token?: string;
  dtype: PackageDtype;
  /** Package key in the store (default `<org>--<name>--<dtype>`). */
  key: string;
  /** Where the package goes; the store creates a fresh sink per key. */
  store: { sink(key: string): Promise<PackageSink> };
  adapter?: AdapterBudget | null;
  /** null skips the quota check; default navigator.storage.estimate(). */
  storage?: StorageFigures | null;
  /** OPFS root holding `downloads/` (default navigator.storage.getDirectory()). */
  root?: FileSystemDirectoryHandle;
  /** Keep the downloaded checkpoint after the package is written (default: delete it). */
  keepDownload?: boolean;
  retry?: RetryPolicy;
  chunkBytes?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BrowserConvertProgress) => void;
}

export interface BrowserConvertResult {
  key: string;
  /** Package files (manifest.json excluded) with bytes and sha256, as in the manifest. */
  files: { path: string; bytes: number; sha256: string }[];
  /** sha256 of every downloaded checkpoint file (verified against the hub where it gave one). */
  downloaded: { path: string; bytes: number; sha256: string }[];
}

interface RemoteInfo extends HubFile {
  url: string;
  etag: string | null;
  commit: string | null;
}

/** HEAD a listed file for the headers that identify its version. */
async function headInfo(id: string, file: HubFile, opts: HubOptions): Promise<RemoteInfo> {
  const url = hubUrl(id, file.path, opts);
  const res = await fetch(url, { ...hubInit(opts), method: 'HEAD', cache: 'no-store' });
  if (!res.ok) throw new ConvertError('download', url, `HTTP ${res.status} ${res.statusText}`);
  const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
  return { ...file, url, etag, commit: res.headers.get('x-repo-commit') };
}

/** Retries what a 5xx or a lost connection breaks while listing (each listing step is idempotent). */
async function withRetry<T>(
  retry: RetryPolicy,
  signal: AbortSignal | undefined,
  job: () => Promise<T>,
  onRetry?: (why: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await job();
    } catch (err) {
      const transient =
        err instanceof ConvertError && err.code === 'download' && /HTTP 5\d\d|HTTP 429|cannot reach/.test(err.message);
      if (!transient || attempt >= retry.attempts || signal?.aborted) throw err;
      const delayMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      onRetry?.(
        `${(err as ConvertError).detail}; retry ${attempt} of ${retry.attempts - 1} in ${(delayMs / 1000).toFixed(1)} s`,
      );
      await new Promise((ok) => setTimeout(ok, delayMs));
    }
  }
}

export const downloadsFolder = (id: string) => `downloads/${id.replace(/\//g, '--')}`;

export async function convertInBrowser(options: BrowserConvertOptions): Promise<BrowserConvertResult> {
  const hub: HubOptions = {
    endpoint: options.endpoint ?? hubEndpoint({}),
    revision: options.revision,
    token: options.token,
  };
  const retry = options.retry ?? DEFAULT_RETRY;
  const report = (p: BrowserConvertProgress) => options.onProgress?.(p);
  const listing = (retrying?: string) =>
    report({
      phase: 'listing',
      bytesDone: 0,
      bytesTotal: 0,
      rate: null,
      etaS: null,
      filesDone: 0,
      filesTotal: 0,
      retrying,
    });
  listing();

  // What is wrong with the endpoint itself (CORS, no Range support), said before any listing.
  await withRetry(retry, options.signal, () => probeHub(options.id, hub, options.signal), listing);
  const listed = await withRetry(retry, options.signal, () => listHubFiles(options.id, hub), listing);
  listing();
  const remote: RemoteInfo[] = [];
  for (const f of listed) remote.push(await withRetry(retry, options.signal, () => headInfo(options.id, f, hub)));

  const root = options.root ?? (await opfsRoot());
  const dir = (await dirAt(root, downloadsFolder(options.id), true))!;
  const states = opfsStateStore(dir, '.download-state.json');

  // config.json first (small): its architecture and sizes decide whether to go on.
  report({
    phase: 'preflight',
    bytesDone: 0,
    bytesTotal: 0,
    rate: null,
    etaS: null,
    filesDone: 0,
    filesTotal: remote.length,
  });
  const configFile = remote.find((f) => f.path === 'config.json')!;
  const configHandle = (await fileAt(dir, 'config.json', true))!;
  const configTarget = await opfsPartialFile(configHandle);
  try {
    await downloadFile(configFile, configTarget, states, { init: hubInit(hub), retry, signal: options.signal });
  } finally {
    await configTarget.close();
  }
  let configJson: unknown;
  try {
    configJson = JSON.parse(
      new TextDecoder().decode(new Uint8Array(await (await configHandle.getFile()).arrayBuffer())),
    );
  } catch (err) {
    throw new ConvertError('bad-json', 'config.json', `not valid JSON (${(err as Error).message})`);
  }
  const config = parseLlavaConfig(configJson); // throws 'unsupported' for an architecture we cannot build

  let remaining = 0;
  let sideFileBytes = 0;
  for (const f of remote) {
    const handle = await fileAt(dir, f.path);
    const state = await states.get(f.path);
    const have = handle && state && state.etag === f.etag && state.size === f.size ? (await handle.getFile()).size : 0;
    remaining += f.size - Math.min(have, f.size);
    if (!/\.safetensors(\.index\.json)?$/.test(f.path)) sideFileBytes += f.size;
  }
  const storage =
    options.storage === undefined
      ? await navigator.storage.estimate().then((e) => ({ quota: e.quota ?? 0, usage: e.usage ?? 0 }))
      : options.storage;
  const plan = preflight({
    id: options.id,
    config,
    dtype: options.dtype,
    downloadBytes: remaining,
    sideFileBytes,
    storage,
    adapter: options.adapter ?? null,
  });

  // Download, file by file; bytes already on disk count as done from the start.
  const bytesTotal = remote.reduce((n, f) => n + f.size, 0);
  const meter = new RateMeter();
  const downloaded: BrowserConvertResult['downloaded'] = [];
  let finished = 0;
  for (const [i, f] of remote.entries()) {
    const target = await opfsPartialFile((await fileAt(dir, f.path, true))!);
    let retrying: string | undefined;
    const tick = (have: number) => {
      const done = finished + have;
      report({
        phase: 'download',
        file: f.path,
        bytesDone: done,
        bytesTotal,
        ...meter.update(done, bytesTotal),
        filesDone: i,
        filesTotal: remote.length,
        retrying,
      });
    };
    try {
      const sha256 = await downloadFile(f, target, states, {
        init: hubInit(hub),
        retry,
        chunkBytes: options.chunkBytes,
        signal: options.signal,
        onBytes: (have) => {
          retrying = undefined;
          tick(have);
        },
        onRetry: (why, attempt, delayMs) => {
          retrying = `${why}; retry ${attempt} in ${(delayMs / 1000).toFixed(1)} s`;
        },
      });
      downloaded.push({ path: f.path, bytes: f.size, sha256 });
    } finally {
      await target.close();
    }
    finished += f.size;
  }

  // Convert from the local copies with the CLI's code; the sink commits only a verified package.
  const blobs: Record<string, Blob> = {};
  for (const f of remote) blobs[f.path] = await (await fileAt(dir, f.path))!.getFile();
  const ckpt = await openCheckpoint(blobFolder(options.id, blobs));
  const sink = await options.store.sink(options.key);
  const convertMeter = new RateMeter();
  const files = await convertCheckpoint(ckpt, {
    dtype: options.dtype,
    sink,
    onProgress: (p) =>
      report({
        phase: 'convert',
        file: p.path,
        bytesDone: p.bytesWritten,
        bytesTotal: Math.max(plan.packageBytes, p.bytesWritten),
        ...convertMeter.update(p.bytesWritten, plan.packageBytes),
        filesDone: p.filesDone,
        filesTotal: p.graphsTotal + 4,
        graphsDone: p.graphsDone,
        graphsTotal: p.graphsTotal,
      }),
  });
  if (!options.keepDownload) await removeEntry(root, downloadsFolder(options.id));
  const written = files.reduce((n, f) => n + f.bytes, 0);
  report({
    phase: 'done',
    bytesDone: written,
    bytesTotal: written,
    rate: null,
    etaS: 0,
    filesDone: files.length,
    filesTotal: files.length,
  });
  return { key: options.key, files, downloaded };
}
