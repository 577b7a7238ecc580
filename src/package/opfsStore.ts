/**
 * Model packages cached in the Origin Private File System.
 *
 *   packages/<key>.partial/…             a package being written (never loadable)
 *   packages/<key>.partial/.committed    written last, after every file was checked against
 *                                        manifest.json (bytes, sha256); holds the manifest's sha256
 *   packages/<key>/                      the committed folder, renamed from .partial when the
 *                                        browser can move directories (else it stays .partial + marker)
 *
 * A folder is loadable only with a marker whose manifest sha256 matches the manifest.json
 * beside it, so a crash at any point leaves either the old package, the new one, or an
 * "incomplete" entry the person can delete, never a half-written package that loads.
 */
import { ConvertError } from '../common/errors';
import { missingFile, type PackageReader } from './source';
import { checkPackagePath } from './manifest';
import { sha256Hex } from './hash';
import type { PackageSink } from './sink';
import { dirAt, fileAt, opfsRoot, readWhole, removeEntry, walkFiles, writeWhole } from './opfs';

const PACKAGES = 'packages';
const PARTIAL = '.partial';
const MARKER = '.committed';

interface Marker {
  manifestSha256: string;
  bytes: number;
  files: number;
  committedAt: string;
}

export interface CachedPackage {
  key: string;
  /** 'ready': committed and consistent; 'incomplete': a write that never finished (only deletable). */
  state: 'ready' | 'incomplete';
  /** Bytes on disk, every file included. */
  bytes: number;
  files: number;
  /** From manifest.json when ready. */
  name?: string;
  dtype?: string;
  sourceId?: string;
  committedAt?: string;
}

/** 'llava-hf/llava-1.5-7b-hf' + 'q4' → 'llava-hf--llava-1.5-7b-hf--q4' (one OPFS folder name). */
export function packageKey(id: string, dtype: string): string {
  return `${id}--${dtype}`.replace(/\//g, '--').replace(/[^A-Za-z0-9._-]/g, '_');
}

function checkKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key) || key.endsWith(PARTIAL) || key.includes('..')) {
    throw new ConvertError('bad-value', key, 'not a package key (letters, digits, . _ -)');
  }
}

interface Found {
  dir: FileSystemDirectoryHandle;
  folder: string;
  marker: Marker;
}

export class OpfsPackageStore {
  private constructor(private readonly root: FileSystemDirectoryHandle) {}

  /** `root` defaults to the origin's OPFS root. */
  static async open(root?: FileSystemDirectoryHandle): Promise<OpfsPackageStore> {
    const base = root ?? (await opfsRoot());
    await dirAt(base, PACKAGES, true);
    return new OpfsPackageStore(base);
  }

  private async packagesDir(): Promise<FileSystemDirectoryHandle> {
    return (await dirAt(this.root, PACKAGES, true))!;
  }

  /** A sink for a new package under `key`; the old package of that key stays until commit. */
  async sink(key: string): Promise<OpfsPackageSink> {
    checkKey(key);
    const packages = await this.packagesDir();
    await removeEntry(packages, key + PARTIAL); // a leftover of a crashed write
    const dir = await packages.getDirectoryHandle(key + PARTIAL, { create: true });
    return new OpfsPackageSink(key, packages, dir);
  }

  /** Committed folder of `key` whose marker matches its manifest, or null. */
  private async findReady(key: string): Promise<Found | null> {
    const packages = await this.packagesDir();
    // A .partial with a marker is newer than a plain folder (commit writes the marker before the move).
    for (const folder of [key + PARTIAL, key]) {
      const dir = await dirAt(packages, folder);
      if (!dir) continue;
      const marker = await readMarker(dir);
      if (marker) return { dir, folder, marker };
    }
    return null;
  }

  async list(): Promise<CachedPackage[]> {
    const packages = await this.packagesDir();
    const out = new Map<string, CachedPackage>();
    const entries = (packages as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
    const folders: string[] = [];
    for await (const [name, handle] of entries) if (handle.kind === 'directory') folders.push(name);
    for (const folder of folders.sort()) {
      const key = folder.endsWith(PARTIAL) ? folder.slice(0, -PARTIAL.length) : folder;
      const dir = (await dirAt(packages, folder))!;
      let bytes = 0;
      let files = 0;
      for await (const [, h] of walkFiles(dir)) {
        bytes += (await h.getFile()).size;
        files += 1;
      }
      const marker = await readMarker(dir);
      const prior = out.get(key);
      if (!marker) {
        // Space held by an unfinished write is shown (and deletable) with its key.
        if (!prior) out.set(key, { key, state: 'incomplete', bytes, files });
        else prior.bytes += bytes;
        continue;
      }
      const manifest = JSON.parse(new TextDecoder().decode(await readWhole((await fileAt(dir, 'manifest.json'))!))) as {
        name?: string;
        dtype?: string;
        source?: { id?: string };
      };
      const entry: CachedPackage = {
        key,
        state: 'ready',
        bytes: bytes + (prior?.bytes ?? 0),
        files,
        name: manifest.name,
        dtype: manifest.dtype,
        sourceId: manifest.source?.id,
        committedAt: marker.committedAt,
      };
      if (!prior || prior.state !== 'ready' || folder.endsWith(PARTIAL)) out.set(key, entry);
    }
    return [...out.values()];
  }

  async has(key: string): Promise<boolean> {
    return (await this.findReady(key)) !== null;
  }

  /** Removes the package and any unfinished write of it. */
  async delete(key: string): Promise<void> {
    checkKey(key);
    const packages = await this.packagesDir();
    await removeEntry(packages, key);
    await removeEntry(packages, key + PARTIAL);
  }

  /** The engine's reader over a committed package (the loader checks sizes and sha256 again). */
  async reader(key: string): Promise<PackageReader> {
    const found = await this.findReady(key);
    if (!found) throw missingFile('manifest.json', `the browser cache (no complete package "${key}")`);
    const label = `cached package ${key}`;
    return {
      label,
      async read(path, onBytes) {
        checkPackagePath(path);
        const h = await fileAt(found.dir, path);
        if (!h) throw missingFile(path, label);
        const bytes = await readWhole(h);
        onBytes?.(bytes.byteLength);
        return bytes;
      },
    };
  }

  /**
   * The package as File objects, for the worker protocol's `{ kind: 'files' }` source (Files are
   * structured-cloneable and read lazily, so nothing is copied here).
   */
  async files(key: string): Promise<{ path: string; file: File }[]> {
    const found = await this.findReady(key);
    if (!found) throw missingFile('manifest.json', `the browser cache (no complete package "${key}")`);
    const out: { path: string; file: File }[] = [];
    for await (const [path, h] of walkFiles(found.dir))
      if (path !== MARKER) out.push({ path, file: await h.getFile() });
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}

async function readMarker(dir: FileSystemDirectoryHandle): Promise<Marker | null> {
  const h = await fileAt(dir, MARKER);
  const m = await fileAt(dir, 'manifest.json');
  if (!h || !m) return null;
  try {
    const marker = JSON.parse(new TextDecoder().decode(await readWhole(h))) as Marker;
    return marker.manifestSha256 === (await sha256Hex(await readWhole(m))) ? marker : null;
  } catch {
    return null;
  }
}

export class OpfsPackageSink implements PackageSink {
  /** path → { bytes, sha256 } of what was written, checked against manifest.json at commit. */
  private readonly written = new Map<string, { bytes: number; sha256: string }>();
  private closed = false;

  constructor(
    readonly key: string,
    private readonly packages: FileSystemDirectoryHandle,
    private readonly dir: FileSystemDirectoryHandle,
  ) {}

  async write(path: string, bytes: Uint8Array): Promise<void> {
    checkPackagePath(path);
    if (path === MARKER) throw new ConvertError('output', path, 'reserved name');
    if (this.closed) throw new ConvertError('output', path, 'package already closed');
    if (this.written.has(path)) throw new ConvertError('output', path, 'written twice');
    this.written.set(path, { bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
    try {
      await writeWhole((await fileAt(this.dir, path, true))!, bytes);
    } catch (err) {
      throw new ConvertError(
        'output',
        `${this.key}/${path}`,
        `cannot write to the browser's storage (${(err as DOMException).name}: ${(err as Error).message})`,
      );
    }
  }

  async commit(): Promise<void> {
    if (this.closed) throw new ConvertError('output', this.key, 'package already closed');
    this.closed = true;
    const manifestInfo = this.written.get('manifest.json');
    if (!manifestInfo)
      throw new ConvertError('output', `${this.key}/manifest.json`, 'the package has no manifest.json');
    const manifestBytes = await readWhole((await fileAt(this.dir, 'manifest.json'))!);
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as {
      files?: { path: string; bytes: number; sha256: string }[];
    };
    const listed = manifest.files ?? [];
    // Read back what storage holds, not what we meant to write: the check that matters.
    for (const f of listed) {
      const h = await fileAt(this.dir, f.path);
      const bytes = h ? await readWhole(h) : null;
      if (!bytes || bytes.byteLength !== f.bytes || (await sha256Hex(bytes)) !== f.sha256) {
        throw new ConvertError(
          'output',
          `${this.key}/${f.path}`,
          bytes
            ? `stored file does not match manifest.json (${bytes.byteLength} bytes, manifest says ${f.bytes})`
            : 'listed in manifest.json but not written',
        );
      }
    }
    const extra = [...this.written.keys()].filter((p) => p !== 'manifest.json' && !listed.some((f) => f.path === p));
    if (extra.length)
      throw new ConvertError('output', `${this.key}/${extra[0]}`, 'written but not listed in manifest.json');
    const marker: Marker = {
      manifestSha256: await sha256Hex(manifestBytes),
      bytes: [...this.written.values()].reduce((n, f) => n + f.bytes, 0),
      files: this.written.size,
      committedAt: new Date().toISOString(),
    };
    await writeWhole((await fileAt(this.dir, MARKER, true))!, new TextEncoder().encode(JSON.stringify(marker)));
    // Now the package is loadable as <key>.partial. Replace the old one and rename where we can.
    await removeEntry(this.packages, this.key);
    const move = (this.dir as unknown as { move?: (to: FileSystemDirectoryHandle, name: string) => Promise<void> })
      .move;
    if (typeof move === 'function') {
      try {
        await move.call(this.dir, this.packages, this.key);
      } catch {
        /* stays <key>.partial with its marker: still loadable */
      }
    }
  }

  async abort(): Promise<void> {
    this.closed = true;
    await removeEntry(this.packages, this.key + PARTIAL);
  }
}
