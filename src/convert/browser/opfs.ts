/**
 * Download targets in the Origin Private File System for the in-browser conversion: partial
 * files written in place from a worker, and the download states. The generic OPFS helpers and
 * the package store are in src/package/ (opfs.ts, opfsStore.ts).
 */
import type { PartialFile, StateStore, DownloadState } from './rangeDownload';
import { fileAt, writeWhole, readWhole, openSync } from '../../package/opfs';

/** A download target in OPFS; `close()` releases the worker's exclusive access handle. */
export interface OpfsPartialFile extends PartialFile {
  close(): Promise<void>;
}

export async function opfsPartialFile(handle: FileSystemFileHandle): Promise<OpfsPartialFile> {
  const sync = await openSync(handle);
  if (sync) {
    // flush() makes the bytes durable: a reload or a crash keeps what was flushed and the download
    // resumes from there. Once a second (or every 16 MB) bounds what is fetched twice without
    // paying a flush per network chunk.
    let lastFlush = performance.now();
    let unflushed = 0;
    return {
      async size() {
        return sync.getSize();
      },
      async write(offset, bytes) {
        let at = 0;
        while (at < bytes.byteLength) {
          const n = sync.write(bytes.subarray(at), { at: offset + at });
          if (n <= 0) throw new DOMException(`wrote 0 of ${bytes.byteLength - at} bytes`, 'QuotaExceededError');
          at += n;
        }
        unflushed += bytes.byteLength;
        if (unflushed >= 16 << 20 || performance.now() - lastFlush >= 1000) {
          sync.flush();
          lastFlush = performance.now();
          unflushed = 0;
        }
      },
      async truncate(size) {
        sync.truncate(size);
        sync.flush();
      },
      async read(offset, length) {
        const out = new Uint8Array(length);
        const got = sync.read(out, { at: offset });
        return got === length ? out : out.subarray(0, got);
      },
      async close() {
        sync.flush();
        sync.close();
      },
    };
  }
  return {
    async size() {
      return (await handle.getFile()).size;
    },
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
      cache = h ? (JSON.parse(new TextDecoder().decode(await readWhole(h))) as Record<string, DownloadState>) : {};
    } catch {
      cache = {}; // a torn state file only costs re-hashing what is on disk
    }
    return cache;
  };
  return {
    async get(file) {
      return (await load())[file] ?? null;
    },
    async set(file, state) {
      const all = await load();
      if (state) all[file] = state;
      else delete all[file];
      await writeWhole((await fileAt(dir, name, true))!, new TextEncoder().encode(JSON.stringify(all)));
    },
  };
}
