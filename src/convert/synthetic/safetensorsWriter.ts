/**
 * Streaming safetensors writer: the header is computed from names/dtypes/shapes alone, then each
 * tensor's bytes are produced on demand and yielded, so a 7B checkpoint is never held at once.
 * Deterministic: the same tensors in the same order give the same bytes (header keys in that
 * order, padded with spaces to 8 bytes as the reference writer does).
 */
import { DTYPE_BYTES, elementCount, type TensorDtype } from '../checkpoint/safetensors';
import { f32ToF16, f32ToBf16 } from '../../common/float16';

export interface WriterTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
}

export function tensorBytes(tensor: WriterTensor): number {
  return elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype];
}

/** The u64 length prefix + JSON header, padded so the data section starts 8-byte aligned. */
export function encodeSafetensorsHeader(
  tensors: readonly WriterTensor[],
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  while ((8 + enc.encode(json).byteLength) % 8 !== 0) json += ' ';
  const body = enc.encode(json);
  const out = new Uint8Array(8 + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  out.set(body, 8);
  return out;
}

/** f32 values → the tensor's storage dtype, little-endian bytes. */
export function fromFloat32(values: Float32Array, dtype: TensorDtype): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': {
      const bits = f32ToF16(values);
      return new Uint8Array(bits.buffer);
    }
    case 'BF16':
      return new Uint8Array(f32ToBf16(values).buffer);
  }
}

/**
 * Yields the whole file: header, then each tensor's data in order. `data` returns either f32
 * values (converted to the tensor's dtype) or raw bytes already in that dtype.
 */
export async function* safetensorsChunks(
  tensors: readonly WriterTensor[],
  data: (t: WriterTensor) => Promise<Float32Array | Uint8Array> | Float32Array | Uint8Array,
  metadata?: Record<string, string>,
): AsyncGenerator<Uint8Array> {
  yield encodeSafetensorsHeader(tensors, metadata);
  for (const t of tensors) {
    const value = await data(t);
    const bytes = value instanceof Float32Array ? fromFloat32(value, t.dtype) : value;
    if (bytes.byteLength !== tensorBytes(t)) {
      throw new Error(
        `safetensors writer: tensor "${t.name}" has ${bytes.byteLength} bytes, ${t.dtype} ${JSON.stringify(t.shape)} needs ${tensorBytes(t)}`,
      );
    }
    yield bytes;
  }
}

/** Whole file in memory: for tests and small checkpoints. */
export async function encodeSafetensors(
  tensors: readonly WriterTensor[],
  data: (t: WriterTensor) => Promise<Float32Array | Uint8Array> | Float32Array | Uint8Array,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of safetensorsChunks(tensors, data, metadata)) parts.push(chunk.slice());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
