/**
 * CPU twin of shaders/cast_f16.wgsl: IEEE half bits ↔ f32 (round to nearest even; the
 * converter's own conversions, src/convert/quantize.ts). The GPU's f32 → half rounding is
 * the implementation's (nearest above or below): at most one half ulp from this one.
 */
import { fromFloat16, toFloat16 } from '../../convert/quantize';

/** (n) half bits → (n) f32. */
export function castF16ToF32Reference(src: Uint16Array): Float32Array {
  return fromFloat16(src);
}

/** (n) f32 → (n) half bits. */
export function castF32ToF16Reference(src: Float32Array): Uint16Array {
  return toFloat16(src);
}
