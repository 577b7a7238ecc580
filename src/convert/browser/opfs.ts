/**
 * Small helpers over the Origin Private File System (navigator.storage.getDirectory()), used by
 * the in-browser download (partial files, state) and the package store (src/engine/cache/).
 * In a dedicated worker, files are written through a FileSystemSyncAccessHandle (in place, no
 * copy); on the main thread through createWritable, which copies the file on every close, so
 * big downloads belong in the worker.
 */
import type { PartialFile, StateStore, DownloadState } from './rangeDownload';

export async function opfsRoot(): Promise<FileSystemDirectoryHandle> {
  return navigator.storage.getDirectory();
}

/** The directory at `path` ('packages/foo/layers'), created when `create`; null when missing. */
export async function dirAt(root: FileSystemDirectoryHandle, path: string, create = false): Promise<FileSystemDirectoryHandle | null> {
  let dir = root;
  for (const part of path.split('/').filter(Boolean)) {
    try {
      dir = await dir.getDirectoryHandle(part, { create });
    } catch (err) {
      if ((err as DOMException).name === 'NotFoundError' || (err as DOMException).name === 'TypeMismatchError') return null;
      throw err;
    }
  }
  return dir;
}

/** The file handle at a '/'-separated path under `root`, or null. */
export async function fileAt(root: FileSystemDirectoryHandle, path: string, create = false): Promise<FileSystemFileHandle | null> {
  const slash = path.lastIndexOf('/');
  const dir = await dirAt(root, slash < 0 ? '' : path.slice(0, slash), create);
  if (!dir) return null;
  try {
    return await dir.getFileHandle(path.slice(slash + 1), { create });
  } catch (err) {
    if ((err as DOMException).name === 'NotFoundError' || (err as DOMException).name === 'TypeMismatchError') return null;
    throw err;
  }
}

export async function removeEntry(root: FileSystemDirectoryHandle, path: string): Promise<void> {
  const slash = path.lastIndexOf('/');
  const dir = await dirAt(root, slash < 0 ? '' : path.slice(0, slash));
  try {
    await dir?.removeEntry(path.slice(slash + 1), { recursive: true });
  } catch (err) {
    if ((err as DOMException).name !== 'NotFoundError') throw err;
  }
}

/** Every file under `dir` as [relative path, handle], depth first. */
export async function* walkFiles(dir: FileSystemDirectoryHandle, prefix = ''): AsyncGenerator<[string, FileSystemFileHandle]> {
  const entries = (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
  for await (const [name, handle] of entries) {
    if (handle.kind === 'file') yield [prefix + name, handle as FileSystemFileHandle];
    else yield* walkFiles(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
  }
}

export async function writeWhole(handle: FileSystemFileHandle, bytes: Uint8Array): Promise<void> {
  const sync = await openSync(handle);
  if (sync) {
    try {
      sync.truncate(0);
      let at = 0;
      while (at < bytes.byteLength) at += sync.write(bytes.subarray(at), { at });
      sync.flush();
    } finally {
      sync.close();
    }
    return;
  }
  const w = await handle.createWritable();
  await w.write(bytes as Uint8Array<ArrayBuffer>);
  await w.close();
}

export async function readWhole(handle: FileSystemFileHandle): Promise<Uint8Array> {
  return new Uint8Array(await (await handle.getFile()).arrayBuffer());
}

type SyncHandle = FileSystemSyncAccessHandle;

async function openSync(handle: FileSystemFileHandle): Promise<SyncHandle | null> {
  const create = (handle as unknown as { createSyncAccessHandle?: () => Promise<SyncHandle> }).createSyncAccessHandle;
  // Only dedicated workers have it; the main thread falls back to createWritable.
  if (typeof create !== 'function' || typeof (globalThis as { document?: unknown }).document !== 'undefined') return null;
  return create.call(handle);
}

/** A download target in OPFS; `close()` releases the worker's exclusive access handle. */
export interface OpfsPartialFile extends PartialFile {
  close(): Promise<void>;
}

export async function opfsPartialFile(handle: FileSystemFileHandle): Promise<OpfsPartialFile> {
  const sync = await openSync(handle);
  if (sync) {
    let writes = 0;
    return {
      async size() { return sync.getSize(); },
      async write(offset, bytes) {
        let at = 0;
        while (at < bytes.byteLength) {
          const n = sync.write(bytes.subarray(at), { at: offset + at });
          if (n <= 0) throw new DOMException(`wrote 0 of ${bytes.byteLength - at} bytes`, 'QuotaExceededError');
          at += n;
        }
        // flush() makes the bytes durable; every few MB is enough (a crash re-downloads the rest).
        if (++writes % 64 === 0) sync.flush();
      },
      async truncate(size) { sync.truncate(size); sync.flush(); },
      async read(offset, length) {
        const out = new Uint8Array(length);
        const got = sync.read(out, { at: offset });
        return got === length ? out : out.subarray(0, got);
      },
      async close() { sync.flush(); sync.close(); },
    };
  }
  return {
    async size() { return (await handle.getFile()).size; },
    async write(offset, bytes) {
      const w = await handle.createWritable({ keepExistingData: true });
      await w.write({ type: 'write', position: offset, data: bytes as Uint8Array<ArrayBuffer> });
      await w.close();
    },
    async truncate(size) {
      const w = await handle.createWritable({ keepExistingData: true });
      await w.truncate(size);
      await w.close();
    },
    async read(offset, length) {
      return new Uint8Array(await (await handle.getFile()).slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
}

/** Download states of one repo as one JSON file (`state.json`), rewritten on each change. */
export function opfsStateStore(dir: FileSystemDirectoryHandle, name = 'state.json'): StateStore {
  let cache: Record<string, DownloadState> | null = null;
  const load = async () => {
    if (cache) return cache;
    const h = await fileAt(dir, name);
    try {
      cache = h ? JSON.parse(new TextDecoder().decode(await readWhole(h))) as Record<string, DownloadState> : {};
    } catch {
      cache = {}; // a torn state file only costs re-hashing what is on disk
    }
    return cache;
  };
  return {
    async get(file) { return (await load())[file] ?? null; },
    async set(file, state) {
      const all = await load();
      if (state) all[file] = state;
      else delete all[file];
      await writeWhole((await fileAt(dir, name, true))!, new TextEncoder().encode(JSON.stringify(all)));
    },
  };
}
