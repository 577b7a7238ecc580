import { KernelInputError } from './errors';

/** Shapes of one kv_write call: `heads` rows blocks of W 32-bit words. */
export interface KvWriteShape {
  /** 32-bit words per row (hd for f32, hd/2 for f16). */
  W: number;
  heads: number;
  /** Rows per head in the source (1 for a decode step, L for a prefill's present). */
  srcRows: number;
  /** Rows per head in the cache (its capacity). */
  dstRows: number;
  /** Rows copied (the first n of each source head). */
  n: number;
  /** First cache row written. */
  at: number;
}

/** Refuses a write past the cache's capacity (the kernel would drop those rows). */
export function checkKvWrite(shape: KvWriteShape): void {
  if (shape.n > shape.srcRows) throw new KernelInputError('kvWrite', 'n', `≤ srcRows (${shape.srcRows})`, `${shape.n}`);
  if (shape.at + shape.n > shape.dstRows)
    throw new KernelInputError('kvWrite', 'at + n', `≤ cache rows (${shape.dstRows})`, `${shape.at} + ${shape.n}`);
}

/**
 * CPU twin of shaders/kv_write.wgsl: dstK[h, at + r] = srcK[h, r] (and V), bias[at + r] = 0,
 * for h < heads, r < n. Works on 32-bit words (f32, or f16 pairs), returns new arrays.
 */
export function kvWriteReference(
  srcK: Uint32Array, // (heads, srcRows, W)
  srcV: Uint32Array,
  dstK: Uint32Array, // (heads, dstRows, W)
  dstV: Uint32Array,
  bias: Float32Array, // (≥ dstRows)
  shape: KvWriteShape,
): { key: Uint32Array; value: Uint32Array; bias: Float32Array } {
  checkKvWrite(shape);
  const key = dstK.slice();
  const value = dstV.slice();
  const b = bias.slice();
  for (let h = 0; h < shape.heads; h++) {
    for (let r = 0; r < shape.n; r++) {
      const from = (h * shape.srcRows + r) * shape.W;
      const to = (h * shape.dstRows + shape.at + r) * shape.W;
      key.set(srcK.subarray(from, from + shape.W), to);
      value.set(srcV.subarray(from, from + shape.W), to);
    }
  }
  for (let r = 0; r < shape.n; r++) b[shape.at + r] = 0;
  return { key, value, bias: b };
}
