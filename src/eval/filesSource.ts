/**
 * A folder a person picked in the browser (<input webkitdirectory> or the File System Access
 * API's directory handle, flattened to files) as a DataSource. Paths drop the picked folder's
 * own name, as the model folder picker does (store/model.ts loadFromFolder).
 */
import type { DataSource } from './source';

export interface PickedFile {
  path: string;
  file: Blob;
}

/** From <input webkitdirectory>: each File's webkitRelativePath starts with the folder's name. */
export function pickedFromInput(files: readonly File[]): { folder: string; files: PickedFile[] } {
  const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  const folder = files.length ? rel(files[0]).split('/')[0] : '';
  return {
    folder,
    files: files.map((f) => {
      const parts = rel(f).split('/');
      return { path: parts.length > 1 ? parts.slice(1).join('/') : parts[0], file: f };
    }),
  };
}

/** From showDirectoryPicker(): walk the handle (depth-first, sorted). */
export async function pickedFromHandle(
  dir: FileSystemDirectoryHandle,
): Promise<{ folder: string; files: PickedFile[] }> {
  const files: PickedFile[] = [];
  const visit = async (handle: FileSystemDirectoryHandle, prefix: string) => {
    const entries: [string, FileSystemHandle][] = [];
    for await (const entry of (handle as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries())
      entries.push(entry);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, child] of entries) {
      if (child.kind === 'directory') await visit(child as FileSystemDirectoryHandle, `${prefix}${name}/`);
      else files.push({ path: `${prefix}${name}`, file: await (child as FileSystemFileHandle).getFile() });
    }
  };
  await visit(dir, '');
  return { folder: dir.name, files };
}

export function filesDataSource(label: string, picked: readonly PickedFile[]): DataSource {
  const byPath = new Map(picked.map((p) => [p.path, p.file]));
  return {
    label,
    files: [...byPath.keys()].sort(),
    async read(path) {
      const blob = byPath.get(path);
      if (!blob) throw new Error(`${path} is not in the picked folder`);
      return new Uint8Array(await blob.arrayBuffer());
    },
  };
}
