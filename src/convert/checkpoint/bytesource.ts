/**
 * Random access to the bytes of one file, wherever it lives: a browser File/Blob, an HTTP URL
 * (Range requests), memory, or (bytesource.node.ts) a local file. The safetensors reader reads
 * the header and then one tensor at a time through this, so a 7B checkpoint never sits in memory.
 */
import { ConvertError, fmtInt } from '../../common/errors';

export interface ByteSource {
  /** File size in bytes. */
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; throws ConvertError('truncated') past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases an OS handle where there is one. */
  close?(): Promise<void>;
}

export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (offset < 0 || length < 0 || offset + length > size) {
    throw new ConvertError(
      'truncated',
      name,
      `read of ${fmtInt(length)} bytes at ${fmtInt(offset)} is past the end of the file (${fmtInt(size)} bytes)`,
    );
  }
}

export class MemoryByteSource implements ByteSource {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly name = 'memory',
  ) {}
  get size(): number {
    return this.bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.size, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A browser File or Blob (a folder a person picked, or an OPFS file). */
export class BlobByteSource implements ByteSource {
  constructor(
    private readonly blob: Blob,
    private readonly name = (blob as File).name ?? 'blob',
  ) {}
  get size(): number {
    return this.blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.size, offset, length);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}

/** A file over HTTP; each read is one `Range: bytes=a-b` request (the server must answer 206). */
export class HttpByteSource implements ByteSource {
  private constructor(
    readonly url: string,
    readonly size: number,
    private readonly init: RequestInit,
  ) {}

  static async open(url: string, init: RequestInit = {}): Promise<HttpByteSource> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, method: 'HEAD' });
    } catch (err) {
      throw new ConvertError('download', url, `cannot reach the server (${(err as Error).message})`);
    }
    if (!res.ok)
      throw new ConvertError(
        res.status === 404 ? 'missing-file' : 'download',
        url,
        `HTTP ${res.status} ${res.statusText}`,
      );
    const length = Number(res.headers.get('content-length'));
    if (!Number.isFinite(length) || length < 0 || res.headers.get('content-length') === null) {
      throw new ConvertError('download', url, 'the server gave no Content-Length');
    }
    return new HttpByteSource(url, length, init);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.url, this.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    const headers = new Headers(this.init.headers);
    headers.set('Range', `bytes=${offset}-${offset + length - 1}`);
    const res = await fetch(this.url, { ...this.init, headers });
    if (res.status !== 206 && !(res.status === 200 && offset === 0 && length === this.size)) {
      throw new ConvertError(
        'download',
        this.url,
        `range request answered HTTP ${res.status} (need 206 Partial Content)`,
      );
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength !== length) {
      throw new ConvertError(
        'truncated',
        this.url,
        `asked for ${fmtInt(length)} bytes at ${fmtInt(offset)}, got ${fmtInt(bytes.byteLength)}`,
      );
    }
    return bytes;
  }
}
