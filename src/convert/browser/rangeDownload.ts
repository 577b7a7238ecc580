/**
 * One hub file → local storage with Range requests, resumable across dropped connections and
 * page reloads. The bytes already on disk are the truth: a download continues at
 * `bytes=<have>-`; the saved state only carries what identifies the remote file (size, ETag)
 * and the running sha256, so a reload neither re-downloads nor (mostly) re-hashes.
 *
 * Checks, in order: every 206 names the range asked for and the size we expect
 * (Content-Range `bytes a-b/total`); every body has exactly b-a+1 bytes; the finished file has
 * the listed size; its sha256 equals the hub's when the hub gives one (LFS files: ETag /
 * X-Linked-Etag is the sha256). Transient faults (network errors, 5xx, 429, short bodies) are
 * retried with exponential backoff from the last byte on disk; anything else is a ConvertError.
 */
import { ConvertError, fmtInt } from '../../common/errors';
import { Sha256, type Sha256State } from './sha256';

/** Where the bytes go: OPFS in the browser (opfsFiles.ts), anything with these four in tests. */
export interface PartialFile {
  size(): Promise<number>;
  /** Writes at `offset` (always the current size). */
  write(offset: number, bytes: Uint8Array): Promise<void>;
  truncate(size: number): Promise<void>;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Per-file record kept beside the partial file. */
export interface DownloadState {
  size: number;
  /** Hub ETag (sha256 for LFS files, git blob sha1 otherwise); a change means the file changed. */
  etag: string | null;
  hash: Sha256State | null;
  /** Set once the file is complete and verified. */
  verified: boolean;
  sha256: string | null;
}

export interface StateStore {
  get(file: string): Promise<DownloadState | null>;
  set(file: string, state: DownloadState | null): Promise<void>;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 8000 };

export interface RemoteFile {
  /** Path in the repo ('model.safetensors'): names the file in errors and state. */
  path: string;
  url: string;
  size: number;
  etag: string | null;
}

export interface DownloadOptions {
  init?: RequestInit;
  /** Bytes per Range request; progress is saved after each. */
  chunkBytes?: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  /** Bytes of this file on disk so far. */
  onBytes?: (have: number) => void;
  /** A fault was retried (for the progress line: "retrying after HTTP 500"). */
  onRetry?: (why: string, attempt: number, delayMs: number) => void;
}

/** The sha256 a hub ETag carries, or null (git blob sha1s and weak/opaque ETags carry none). */
export function sha256FromEtag(etag: string | null): string | null {
  const m = etag && /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(etag.trim());
  return m ? m[1].toLowerCase() : null;
}

/** A fault worth retrying: the byte count on disk is unchanged, we just ask again. */
class Transient extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, fail) => {
    const t = setTimeout(ok, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        fail(signal.reason);
      },
      { once: true },
    );
  });

const HASH_READ = 8 << 20;

/** Brings a sha256 state up to `have` bytes, reading back from disk what it has not seen. */
async function resumeHash(target: PartialFile, saved: Sha256State | null, have: number): Promise<Sha256> {
  const hasher = await Sha256.create(saved && saved.length <= have ? saved : null);
  for (let at = hasher.length; at < have; at += HASH_READ)
    hasher.update(await target.read(at, Math.min(HASH_READ, have - at)));
  return hasher;
}

/** One Range request from `have`; appends what arrives (even a partial body) and returns the new size. */
async function fetchRange(
  file: RemoteFile,
  target: PartialFile,
  hasher: Sha256,
  have: number,
  end: number,
  opts: DownloadOptions,
): Promise<number> {
  const headers = new Headers(opts.init?.headers);
  headers.set('Range', `bytes=${have}-${end - 1}`);
  let res: Response;
  try {
    res = await fetch(file.url, { ...opts.init, headers, signal: opts.signal, cache: 'no-store' });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new Transient(`cannot reach the server (${(err as Error).message})`);
  }
  if (res.status >= 500 || res.status === 429) throw new Transient(`HTTP ${res.status}`);
  if (res.status === 404) throw new ConvertError('missing-file', file.url, 'HTTP 404: the file is gone from the hub');
  if (res.status !== 206)
    throw new ConvertError(
      'download',
      file.url,
      `range request answered HTTP ${res.status} (need 206 Partial Content)`,
    );
  const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (!cr)
    throw new ConvertError(
      'download',
      file.url,
      `206 without a usable Content-Range ("${res.headers.get('content-range')}")`,
    );
  const [start, last, total] = [Number(cr[1]), Number(cr[2]), cr[3] === '*' ? null : Number(cr[3])];
  if (total !== null && total !== file.size) {
    throw new ConvertError(
      'size-mismatch',
      file.path,
      `the hub listed ${fmtInt(file.size)} bytes but serves ${fmtInt(total)} (the file changed or the listing is wrong); start the download again`,
    );
  }
  if (start !== have || last !== end - 1) {
    throw new ConvertError(
      'download',
      file.url,
      `asked for bytes ${fmtInt(have)}-${fmtInt(end - 1)}, the server sent ${fmtInt(start)}-${fmtInt(last)}`,
    );
  }
  let at = have;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
      if (chunk.done) break;
      const piece = chunk.value;
      if (at + piece.byteLength > end)
        throw new ConvertError(
          'download',
          file.url,
          `the server sent more than the ${fmtInt(end - have)} bytes asked for at ${fmtInt(have)}`,
        );
      try {
        await target.write(at, piece);
      } catch (err) {
        // Storage faults (quota, disk) are not the network's: retrying cannot help.
        throw new ConvertError(
          'output',
          file.path,
          `cannot write at byte ${fmtInt(at)} (${(err as Error).name}: ${(err as Error).message})`,
        );
      }
      hasher.update(piece);
      at += piece.byteLength;
      opts.onBytes?.(at);
    }
  } catch (err) {
    if (err instanceof ConvertError || opts.signal?.aborted) throw err;
    if (at > have) return at; // progress was made: the caller asks for the rest at once
    throw new Transient(`connection lost after ${fmtInt(at - have)} bytes (${(err as Error).message})`);
  }
  if (at !== end) {
    if (at > have) return at;
    throw new Transient(`a response said ${fmtInt(end - have)} bytes and carried ${fmtInt(at - have)}`);
  }
  return at;
}

/**
 * Downloads `file` into `target`, resuming what is there. Returns the verified sha256 (of the
 * bytes on disk, whether or not the hub gave one to compare with).
 */
export async function downloadFile(
  file: RemoteFile,
  target: PartialFile,
  states: StateStore,
  opts: DownloadOptions = {},
): Promise<string> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const chunkBytes = opts.chunkBytes ?? 16 << 20;
  const expected = sha256FromEtag(file.etag);
  let saved = await states.get(file.path);
  let have = await target.size();
  if (saved && (saved.size !== file.size || saved.etag !== file.etag)) {
    // The hub's file is not the one we started: what is on disk belongs to another version.
    await target.truncate(0);
    have = 0;
    saved = null;
  }
  if (saved?.verified && have === file.size && saved.sha256) {
    opts.onBytes?.(have);
    return saved.sha256;
  }
  if (have > file.size) {
    await target.truncate(0);
    have = 0;
  }
  const hasher = await resumeHash(target, saved?.hash ?? null, have);
  const save = (verified: boolean, sha256: string | null) =>
    states.set(file.path, { size: file.size, etag: file.etag, hash: hasher.save(), verified, sha256 });
  opts.onBytes?.(have);

  let failures = 0;
  let lastWhy = '';
  while (have < file.size) {
    const end = Math.min(file.size, have + chunkBytes);
    try {
      const now = await fetchRange(file, target, hasher, have, end, opts);
      const onDisk = await target.size();
      if (onDisk !== now) {
        // Seen with a quota override: writes past the quota vanish without an exception.
        throw new ConvertError(
          'output',
          file.path,
          `the browser's storage kept ${fmtInt(onDisk)} of the ${fmtInt(now)} bytes written (storage full or over quota)`,
        );
      }
      if (now > have) failures = 0; // a fault that still moved us forward does not count
      if (now < end) throw new Transient(`the response stopped at byte ${fmtInt(now)} of ${fmtInt(end)}`);
      have = now;
      await save(false, null);
    } catch (err) {
      if (!(err instanceof Transient)) {
        await save(false, null).catch(() => {});
        throw err;
      }
      have = await target.size();
      await save(false, null);
      failures += 1;
      lastWhy = err.message;
      if (failures >= retry.attempts) {
        throw new ConvertError(
          'download',
          file.url,
          `gave up after ${retry.attempts} attempts at byte ${fmtInt(have)} of ${fmtInt(file.size)}: ${lastWhy} (start again to resume)`,
        );
      }
      const delay = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failures - 1));
      opts.onRetry?.(lastWhy, failures, delay);
      await sleep(delay, opts.signal);
    }
  }
  const got = await target.size();
  if (got !== file.size)
    throw new ConvertError(
      'size-mismatch',
      file.path,
      `downloaded ${fmtInt(got)} bytes but the hub says ${fmtInt(file.size)}`,
    );
  const digest = hasher.hex();
  if (expected && digest !== expected) {
    // Corrupt bytes cannot be located: start this file over on the next attempt.
    await target.truncate(0);
    await states.set(file.path, null);
    throw new ConvertError(
      'download',
      file.path,
      `sha256 ${digest} does not match the hub's ${expected}; the file was discarded, start again to download it anew`,
    );
  }
  await save(true, digest);
  return digest;
}
