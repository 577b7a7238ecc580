/**
 * safetensors reader: validates the header against the file, then reads one tensor at a time.
 *
 * Layout (https://github.com/huggingface/safetensors): u64 little-endian header length N,
 * N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {…} },
 * then the data; offsets are relative to byte 8 + N.
 */
import type { ByteSource } from './bytesource';
import { ConvertError, fmtInt } from '../../common/errors';
import { f16ToF32, bf16ToF32 } from '../../common/float16';

export const DTYPE_BYTES: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** A header larger than this is not a header (the format's own reader caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry extends TensorInfo {
  name: string;
  /** Absolute byte range in the file, [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute offset of the data section (8 + N). */
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Reads and validates the header: length sane, JSON valid, dtypes known, ranges inside the file and disjoint. */
export async function readSafetensorsHeader(source: ByteSource, file: string): Promise<SafetensorsHeader> {
  if (source.size < 8)
    throw new ConvertError('truncated', file, `file has ${source.size} bytes, too short for a safetensors header`);
  const lenBytes = await source.read(0, 8);
  const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
    throw new ConvertError(
      'bad-header',
      file,
      `header length ${fmtInt(headerLen)} is not plausible (not a safetensors file?)`,
    );
  }
  if (8 + headerLen > source.size) {
    throw new ConvertError(
      'truncated',
      file,
      `header says it is ${fmtInt(headerLen)} bytes but the file has ${fmtInt(source.size)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLen)));
  } catch (err) {
    throw new ConvertError('bad-header', file, `header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConvertError('bad-header', file, 'header is not a JSON object');

  const dataStart = 8 + headerLen;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    tensors.set(name, parseEntry(name, raw, dataStart, source.size, file));
  }
  // Disjoint ranges: sorted by start, each must begin at or after the previous end.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.begin < prev.end && cur.end > cur.begin) {
      throw new ConvertError(
        'overlap',
        file,
        `tensors "${prev.name}" and "${cur.name}" overlap (bytes ${fmtInt(cur.begin)}–${fmtInt(prev.end)})`,
      );
    }
  }
  return { dataStart, tensors, metadata };
}

function parseEntry(name: string, raw: unknown, dataStart: number, fileSize: number, file: string): TensorEntry {
  const bad = (what: string) => new ConvertError('bad-header', file, `tensor "${name}": ${what}`);
  if (typeof raw !== 'object' || raw === null) throw bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new ConvertError(
      'unknown-dtype',
      file,
      `tensor "${name}" has dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
    throw bad(`shape ${JSON.stringify(shape)} is not a list of sizes`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  }
  const expected = elementCount(shape) * DTYPE_BYTES[dtype as TensorDtype];
  if (offsets[1] - offsets[0] !== expected) {
    throw bad(
      `data_offsets span ${fmtInt(offsets[1] - offsets[0])} bytes but ${dtype} ${JSON.stringify(shape)} needs ${fmtInt(expected)}`,
    );
  }
  const end = dataStart + offsets[1];
  if (end > fileSize) {
    throw new ConvertError(
      'truncated',
      file,
      `truncated: header says tensor "${name}" ends at byte ${fmtInt(end)} but the file has ${fmtInt(fileSize)}`,
    );
  }
  return { name, dtype: dtype as TensorDtype, shape: shape as number[], begin: dataStart + offsets[0], end };
}

/** Raw little-endian tensor bytes → f32. */
export function toFloat32(bytes: Uint8Array, dtype: TensorDtype): Float32Array {
  // Typed-array views need aligned offsets; copy when the bytes sit at an odd place.
  const align = DTYPE_BYTES[dtype];
  const aligned = bytes.byteOffset % align === 0 ? bytes : bytes.slice();
  const count = bytes.byteLength / align;
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, count).slice();
    case 'F16':
      return f16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, count));
    case 'BF16':
      return bf16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, count));
  }
}

/** One safetensors file opened for tensor-by-tensor reads. */
export class SafetensorsFile {
  private constructor(
    readonly file: string,
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(source: ByteSource, file: string): Promise<SafetensorsFile> {
    return new SafetensorsFile(file, source, await readSafetensorsHeader(source, file));
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  entry(name: string): TensorEntry | undefined {
    return this.header.tensors.get(name);
  }

  async readRaw(name: string): Promise<Uint8Array> {
    const entry = this.header.tensors.get(name);
    if (!entry) throw new ConvertError('missing-tensor', this.file, `no tensor "${name}"`);
    return this.source.read(entry.begin, entry.end - entry.begin);
  }

  async readF32(name: string): Promise<Float32Array> {
    const bytes = await this.readRaw(name); // throws for an unknown name
    return toFloat32(bytes, this.header.tensors.get(name)!.dtype);
  }
}

export type TensorDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  dtype: TensorDtype;
  shape: number[];
}
