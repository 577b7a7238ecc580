/** A package folder on disk, for the CLIs and Node tests (never imported by the browser bundle). */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { missingFile, type PackageReader } from './source';

export function dirReader(dir: string): PackageReader {
  const root = resolve(dir);
  return {
    label: root,
    async read(path, onBytes) {
      let buf: Buffer;
      try {
        buf = await readFile(join(root, path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missingFile(path, root);
        throw e;
      }
      onBytes?.(buf.byteLength);
      // A fresh, unshared ArrayBuffer: ORT and Dawn both dislike pooled/shared backing stores.
      return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    },
    async stat(path) {
      try {
        return { bytes: (await stat(join(root, path))).size };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
}
