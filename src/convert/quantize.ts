/**
 * Weight conversions: f32 → f16 bits (round to nearest even), and int4 block quantisation in
 * the layout of onnxruntime's `com.microsoft.MatMulNBits` (bits 4, block 32).
 *
 * Int4 scheme: ASYMMETRIC per block with explicit zero points. For a block with range
 * [lo, hi] (widened to include 0, so exact zeros survive and padding is free):
 *   scale = (hi − lo) / 15,  zp = round(−lo / scale) ∈ [0, 15],  q = clamp(round(w/scale) + zp, 0, 15)
 *   w ≈ (q − zp) · scale,    |w − ŵ| ≤ scale / 2
 * Why not symmetric (implicit zp 8, scale = absmax/7 or absmax/8)? Its step is ~2·absmax/15
 * over a range that is rarely symmetric, so the worst-case error is up to twice as large for
 * the same 4 bits; the explicit zero points cost N·⌈blocks/2⌉ bytes (1/32 of the weight bytes).
 * Tiny random checkpoints have small logit margins, so we want the more accurate scheme.
 *
 * MatMulNBits layout (for a Linear with weight W [N, K] as PyTorch stores it, out × in):
 *   B            uint8 [N, blocks, 16]    block b of row n, byte j = q[2j] | q[2j+1] << 4
 *   scales       f32|f16 [N · blocks]     row-major (n, b)
 *   zero_points  uint8 [N · ⌈blocks/2⌉]   row n, byte b>>1, low nibble for even b
 * blocks = ⌈K/32⌉; K not a multiple of 32 is padded with zeros (MatMulNBits reads only K).
 */
import { f32ToF16Bits, f16BitsToF32, f32Scratch } from '../common/float16';

export const INT4_BLOCK = 32;

export interface Int4Weight {
  /** Output features (rows of the PyTorch weight). */
  n: number;
  /** Input features (unpadded). */
  k: number;
  blocks: number;
  packed: Uint8Array; // [N, blocks, 16]
  /** f32 scales, or f16 bits when quantised with `halfScales`. */
  scales: Float32Array | Uint16Array; // [N·blocks]
  zeroPoints: Uint8Array; // [N·⌈blocks/2⌉]
}

/**
 * Quantises W [N, K] (row-major, PyTorch Linear layout). With `halfScales` the scales are
 * stored as f16 and the codes are computed against the stored (rounded-up) scale, so the
 * ±scale/2 bound holds for what the kernel actually multiplies by.
 */
export function quantizeInt4(weight: Float32Array, n: number, k: number, halfScales = false): Int4Weight {
  if (weight.length !== n * k)
    throw new RangeError(`quantizeInt4: weight has ${weight.length} values, expected ${n}×${k}`);
  const blocks = Math.ceil(k / INT4_BLOCK);
  const zpStride = Math.ceil(blocks / 2);
  const packed = new Uint8Array(n * blocks * (INT4_BLOCK / 2));
  const scales = halfScales ? new Uint16Array(n * blocks) : new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpStride);
  // One scratch block, zero-padded past K, so the packing loop below has no bounds branches
  // and writes each byte once (two codes at a time): ~4× faster than per-nibble `|=`.
  const block = new Float32Array(INT4_BLOCK);
  for (let row = 0; row < n; row++) {
    const rowBase = row * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * INT4_BLOCK;
      const end = Math.min(start + INT4_BLOCK, k);
      let lo = 0;
      let hi = 0;
      for (let c = start; c < end; c++) {
        const w = weight[rowBase + c];
        block[c - start] = w;
        if (w < lo) lo = w;
        if (w > hi) hi = w;
      }
      // Padding columns (c ≥ K) quantise 0 → zp, dequantising to exactly 0.
      for (let j = end - start; j < INT4_BLOCK; j++) block[j] = 0;
      let scale = (hi - lo) / 15;
      if (halfScales) {
        let bits = f32ToF16Bits(scale);
        if (f16BitsToF32(bits) < scale) bits++; // round up so codes never clamp beyond ±scale/2
        scales[row * blocks + b] = bits;
        scale = f16BitsToF32(bits);
      } else {
        f32Scratch[0] = scale;
        if (f32Scratch[0] < scale) f32Scratch[0] = scale * (1 + 2 ** -23);
        scale = f32Scratch[0];
        scales[row * blocks + b] = scale;
      }
      const zp = scale > 0 ? Math.min(15, Math.max(0, Math.round(-lo / scale))) : 8;
      zeroPoints[row * zpStride + (b >> 1)] |= zp << ((b & 1) * 4);
      const blockBase = (row * blocks + b) * (INT4_BLOCK / 2);
      if (!(scale > 0)) {
        packed.fill(zp | (zp << 4), blockBase, blockBase + INT4_BLOCK / 2);
        continue;
      }
      for (let j = 0; j < INT4_BLOCK / 2; j++) {
        // Division (not ×1/scale) keeps the codes bit-identical to the plain formula above.
        let q0 = Math.round(block[2 * j] / scale) + zp;
        let q1 = Math.round(block[2 * j + 1] / scale) + zp;
        q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
        q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
        packed[blockBase + j] = q0 | (q1 << 4);
      }
    }
  }
  return { n, k, blocks, packed, scales, zeroPoints };
}

/** The weight MatMulNBits computes with, as W [N, K] f32 (for tests and CPU references). */
export function dequantizeInt4(weight: Int4Weight): Float32Array {
  const out = new Float32Array(weight.n * weight.k);
  const zpStride = Math.ceil(weight.blocks / 2);
  for (let row = 0; row < weight.n; row++) {
    for (let b = 0; b < weight.blocks; b++) {
      const raw = weight.scales[row * weight.blocks + b];
      const scale = weight.scales instanceof Uint16Array ? f16BitsToF32(raw) : raw;
      const zp = (weight.zeroPoints[row * zpStride + (b >> 1)] >> ((b & 1) * 4)) & 0xf;
      const blockBase = (row * weight.blocks + b) * (INT4_BLOCK / 2);
      for (let j = 0; j < INT4_BLOCK; j++) {
        const c = b * INT4_BLOCK + j;
        if (c >= weight.k) break;
        const code = (weight.packed[blockBase + (j >> 1)] >> ((j & 1) * 4)) & 0xf;
        out[row * weight.k + c] = (code - zp) * scale;
      }
    }
  }
  return out;
}
