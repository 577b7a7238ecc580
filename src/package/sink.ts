/**
 * Where package files go. A sink either commits the whole package or leaves nothing: the Node
 * sink (nodeSink.ts) writes into a temp folder beside the target and renames it at commit, the
 * OPFS store (opfsStore.ts) checks every file against manifest.json before it marks the package
 * loadable.
 */
import { ConvertError } from '../common/errors';
import { checkPackagePath } from './manifest';

export interface PackageSink {
  /** Writes one file at a package-relative path ('layers/03.onnx'); called once per path. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Makes the package visible at its destination, all at once. */
  commit(): Promise<void>;
  /** Removes everything written so far. Safe to call after a failed write or commit. */
  abort(): Promise<void>;
}

/** Keeps every file in memory: tests, and the browser before it hands files to a cache. */
export class MemorySink implements PackageSink {
  readonly files = new Map<string, Uint8Array>();
  committed = false;
  aborted = false;

  async write(path: string, bytes: Uint8Array): Promise<void> {
    checkPackagePath(path);
    if (this.committed || this.aborted) throw new ConvertError('output', path, 'package already closed');
    if (this.files.has(path)) throw new ConvertError('output', path, 'written twice');
    this.files.set(path, bytes.slice());
  }
  async commit(): Promise<void> {
    this.committed = true;
  }
  async abort(): Promise<void> {
    this.files.clear();
    this.aborted = true;
  }
}
