import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/gather_tokens.wgsl: out[i] = rows[i] < L ? src[rows[i]] : extra[rows[i] − L],
 * rows W wide. Works on any element type (hidden f32 or f16 bits, positions i32) since it copies
 * elements.
 */
export function gatherTokensReference<T extends Float32Array | Int32Array | Uint32Array | Uint16Array>(
  src: T, // (L, W)
  extra: T | null, // (C, W)
  rows: ArrayLike<number>, // (L')
  width: number,
): T {
  const L = Math.floor(src.length / width);
  const C = extra ? Math.floor(extra.length / width) : 0;
  const out = new (src.constructor as { new (n: number): T })(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r >= L + C) throw new KernelInputError('gather', `rows[${i}]`, `< ${L + C} (L=${L}, C=${C})`, `${r}`);
    const from =
      r < L ? src.subarray(r * width, r * width + width) : extra!.subarray((r - L) * width, (r - L) * width + width);
    out.set(from, i * width);
  }
  return out;
}
