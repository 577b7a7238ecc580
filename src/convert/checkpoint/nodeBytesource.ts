/** Node-only: a local file as a ByteSource, read with positional reads (no whole-file buffer). */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkRange, type ByteSource } from './bytesource';
import { ConvertError, fmtInt } from '../../common/errors';

export class FileByteSource implements ByteSource {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly label: string,
  ) {}

  /** `label` names the file in errors (default: its base name). */
  static async open(path: string, label = basename(path)): Promise<FileByteSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConvertError('missing-file', label, code === 'ENOENT' ? 'file not found' : `cannot open (${code})`);
    }
    const { size } = await handle.stat();
    return new FileByteSource(path, handle, size, label);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.label, this.size, offset, length);
    // A fresh ArrayBuffer per read: byteOffset 0, so 4-byte aligned for Float32Array views.
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(out, done, length - done, offset + done);
      if (bytesRead === 0) {
        throw new ConvertError(
          'truncated',
          this.label,
          `file ended at byte ${fmtInt(offset + done)} while reading ${fmtInt(length)} bytes at ${fmtInt(offset)}`,
        );
      }
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
