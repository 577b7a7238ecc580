/**
 * Node-only: a PackageSink into a directory. Files go to `<out>.partial-<pid>-<n>/` beside the
 * target; commit renames it onto `<out>` (replacing an older package there), abort removes it.
 * A crash between the two leaves only the hidden temp folder, never a half-written `<out>`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConvertError } from '../common/errors';
import { checkPackagePath } from './manifest';
import type { PackageSink } from './sink';

let counter = 0;

export class DirSink implements PackageSink {
  readonly temp: string;
  private readonly written = new Set<string>();
  private closed = false;

  constructor(readonly out: string) {
    const target = resolve(out);
    this.temp = join(dirname(target), `.${target.split('/').pop()}.partial-${process.pid}-${counter++}`);
  }

  async write(path: string, bytes: Uint8Array): Promise<void> {
    checkPackagePath(path);
    if (this.closed) throw new ConvertError('output', path, 'package already closed');
    if (this.written.has(path)) throw new ConvertError('output', path, 'written twice');
    this.written.add(path);
    const full = join(this.temp, path);
    try {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, bytes);
    } catch (err) {
      throw new ConvertError(
        'output',
        join(this.out, path),
        `cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }

  /** Node extra: a file too large to hold whole (a checkpoint shard), written chunk by chunk. */
  async writeStream(path: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
    checkPackagePath(path);
    if (this.closed) throw new ConvertError('output', path, 'package already closed');
    if (this.written.has(path)) throw new ConvertError('output', path, 'written twice');
    this.written.add(path);
    const full = join(this.temp, path);
    await mkdir(dirname(full), { recursive: true });
    const out = createWriteStream(full);
    const closed = new Promise<void>((ok, fail) => {
      out.on('close', ok);
      out.on('error', fail);
    });
    let bytes = 0;
    try {
      for await (const chunk of chunks) {
        if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', ok));
        bytes += chunk.byteLength;
      }
    } finally {
      out.end();
      await closed;
    }
    return bytes;
  }

  async commit(): Promise<void> {
    if (this.closed) throw new ConvertError('output', this.out, 'package already closed');
    this.closed = true;
    const target = resolve(this.out);
    await mkdir(this.temp, { recursive: true });
    try {
      // An existing package is moved aside first (rename cannot replace a non-empty folder).
      const old = `${this.temp}.old`;
      let hadOld = false;
      try {
        await stat(target);
        await rename(target, old);
        hadOld = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await rename(this.temp, target);
      if (hadOld) await rm(old, { recursive: true, force: true });
    } catch (err) {
      await rm(this.temp, { recursive: true, force: true });
      throw new ConvertError(
        'output',
        this.out,
        `cannot move the package into place (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }

  async abort(): Promise<void> {
    this.closed = true;
    await rm(this.temp, { recursive: true, force: true });
  }
}
