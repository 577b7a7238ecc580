/**
 * Where package bytes come from. One interface over a URL folder (fetch, with the browser's
 * Cache API in front so a second visit needs no network), files a person picked, and a Node
 * directory (nodeSource.ts, kept apart so the browser bundle never sees node:fs).
 */
import { EngineError } from '../common/errors';

export interface PackageReader {
  /** Shown in messages: the URL or folder name. */
  readonly label: string;
  /** Whole file; `onBytes(n)` reports bytes as they arrive. Throws EngineError 'file-missing' | 'fetch-failed'. */
  read(path: string, onBytes?: (loaded: number) => void): Promise<Uint8Array>;
  /** Forget a cached copy (after a sha256 mismatch) so the next read goes to the origin. */
  evict?(path: string): Promise<void>;
  /**
   * Whether `path` exists, without reading it: null when it does not, else its size when
   * known. The loader checks every listed file this way before it creates any session, so a
   * missing layer is refused at once rather than after minutes of loading.
   */
  stat?(path: string): Promise<{ bytes: number | null } | null>;
}

export const missingFile = (path: string, where: string): EngineError =>
  new EngineError('model', 'file-missing', `The package file ${path} is missing from ${where}.`, { file: path, where });

const CACHE_NAME = 'sparsevlm-packages-v1';

async function readStream(res: Response, onBytes?: (n: number) => void): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onBytes?.(loaded);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total > 0 && total === loaded ? total : loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A package folder at a URL (absolute, or a path relative to the page/worker location). */
export function urlReader(baseUrl: string): PackageReader {
  const origin = (globalThis as { location?: { href: string } }).location?.href;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, origin);
  const hasCache = typeof caches !== 'undefined';
  return {
    label: base.href,
    async read(path, onBytes) {
      const url = new URL(path, base).href;
      // manifest.json is never cached: it is how we learn a package changed.
      const cacheable = hasCache && path !== 'manifest.json';
      if (cacheable) {
        try {
          const hit = await (await caches.open(CACHE_NAME)).match(url);
          if (hit) return readStream(hit, onBytes);
        } catch {
          /* a broken or full cache is only a missed speed-up */
        }
      }
      let res: Response;
      try {
        res = await fetch(url, { cache: path === 'manifest.json' ? 'no-cache' : 'default' });
      } catch (e) {
        throw new EngineError(
          'model',
          'fetch-failed',
          `Could not download ${path} from ${base.href} (${(e as Error).message}).`,
          { file: path, url },
        );
      }
      if (res.status === 404) throw missingFile(path, base.href);
      if (!res.ok)
        throw new EngineError('model', 'fetch-failed', `Downloading ${path} failed with HTTP ${res.status}.`, {
          file: path,
          url,
          status: res.status,
        });
      const bytes = await readStream(res, onBytes);
      if (cacheable) {
        try {
          await (
            await caches.open(CACHE_NAME)
          ).put(url, new Response(bytes as BufferSource, { headers: { 'content-length': String(bytes.byteLength) } }));
        } catch {
          /* quota: keep going without the cache */
        }
      }
      return bytes;
    },
    async evict(path) {
      if (hasCache) await (await caches.open(CACHE_NAME)).delete(new URL(path, base).href);
    },
    async stat(path) {
      const url = new URL(path, base).href;
      if (hasCache && path !== 'manifest.json') {
        try {
          if (await (await caches.open(CACHE_NAME)).match(url)) return { bytes: null };
        } catch {
          /* fall through to the origin */
        }
      }
      // Only a 404 says "missing"; a server that refuses HEAD (or a network error) leaves it to read().
      try {
        const res = await fetch(url, { method: 'HEAD', cache: 'no-cache' });
        if (res.status === 404) return null;
        const length = Number(res.headers.get('content-length'));
        return { bytes: res.ok && Number.isFinite(length) && length > 0 ? length : null };
      } catch {
        return { bytes: null };
      }
    },
  };
}

/** Files a person picked (a folder via webkitdirectory, so paths may carry the folder name first). */
export function filesReader(files: { path: string; file: Blob }[]): PackageReader {
  const byPath = new Map<string, Blob>();
  // Strip a common leading folder ("mymodel/manifest.json" → "manifest.json").
  const manifest = files.find((f) => f.path === 'manifest.json' || f.path.endsWith('/manifest.json'));
  const prefix = manifest ? manifest.path.slice(0, manifest.path.length - 'manifest.json'.length) : '';
  for (const f of files) if (f.path.startsWith(prefix)) byPath.set(f.path.slice(prefix.length), f.file);
  return {
    label: prefix ? prefix.replace(/\/$/, '') : 'the picked files',
    async read(path, onBytes) {
      const blob = byPath.get(path);
      if (!blob) throw missingFile(path, 'the picked folder');
      const bytes = new Uint8Array(await blob.arrayBuffer());
      onBytes?.(bytes.byteLength);
      return bytes;
    },
    async stat(path) {
      const blob = byPath.get(path);
      return blob ? { bytes: blob.size } : null;
    },
  };
}

/** The browser-side sources of protocol.ts. Node directories: nodeSource.ts. */
export function readerFor(source: PackageSource): PackageReader {
  return source.kind === 'url' ? urlReader(source.url) : filesReader(source.files);
}

export type PackageSource =
  | { kind: 'url'; url: string } // a package folder URL (same-origin path or absolute)
  | { kind: 'files'; files: { path: string; file: Blob }[] };
