/**
 * CPU twin of shaders/cast_f16.wgsl: IEEE half bits ↔ f32 (round to nearest even; the
 * conversions of src/common/float16.ts). The GPU's f32 → half rounding is
 * the implementation's (nearest above or below): at most one half ulp from this one.
 */
import { f16ToF32, f32ToF16 } from '../../common/float16';

/** (n) half bits → (n) f32. */
export function castF16ToF32Reference(src: Uint16Array): Float32Array {
  return f16ToF32(src);
}

/** (n) f32 → (n) half bits. */
export function castF32ToF16Reference(src: Float32Array): Uint16Array {
  return f32ToF16(src);
}
