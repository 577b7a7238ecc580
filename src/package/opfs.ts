/**
 * Small helpers over the Origin Private File System (navigator.storage.getDirectory()), used by
 * the package store (opfsStore.ts) and the in-browser download (convert/browser/opfs.ts).
 * In a dedicated worker, files are written through a FileSystemSyncAccessHandle (in place, no
 * copy); on the main thread through createWritable, which copies the file on every close, so
 * big downloads belong in the worker.
 */

export async function opfsRoot(): Promise<FileSystemDirectoryHandle> {
  return navigator.storage.getDirectory();
}

/** The directory at `path` ('packages/foo/layers'), created when `create`; null when missing. */
export async function dirAt(
  root: FileSystemDirectoryHandle,
  path: string,
  create = false,
): Promise<FileSystemDirectoryHandle | null> {
  let dir = root;
  for (const part of path.split('/').filter(Boolean)) {
    try {
      dir = await dir.getDirectoryHandle(part, { create });
    } catch (err) {
      if ((err as DOMException).name === 'NotFoundError' || (err as DOMException).name === 'TypeMismatchError')
        return null;
      throw err;
    }
  }
  return dir;
}

/** The file handle at a '/'-separated path under `root`, or null. */
export async function fileAt(
  root: FileSystemDirectoryHandle,
  path: string,
  create = false,
): Promise<FileSystemFileHandle | null> {
  const slash = path.lastIndexOf('/');
  const dir = await dirAt(root, slash < 0 ? '' : path.slice(0, slash), create);
  if (!dir) return null;
  try {
    return await dir.getFileHandle(path.slice(slash + 1), { create });
  } catch (err) {
    if ((err as DOMException).name === 'NotFoundError' || (err as DOMException).name === 'TypeMismatchError')
      return null;
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
export async function* walkFiles(
  dir: FileSystemDirectoryHandle,
  prefix = '',
): AsyncGenerator<[string, FileSystemFileHandle]> {
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

export async function openSync(handle: FileSystemFileHandle): Promise<SyncHandle | null> {
  const create = (handle as unknown as { createSyncAccessHandle?: () => Promise<SyncHandle> }).createSyncAccessHandle;
  // Only dedicated workers have it; the main thread falls back to createWritable.
  if (typeof create !== 'function' || typeof (globalThis as { document?: unknown }).document !== 'undefined')
    return null;
  return create.call(handle);
}

type SyncHandle = FileSystemSyncAccessHandle;
