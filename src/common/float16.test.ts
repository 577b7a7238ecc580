import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16BitsToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToF16Bits } from './float16';

describe('f16', () => {
  it('rounds f32 to the nearest half, ties to even', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [0.5, 0x3800],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: ties to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above halfway: up
      [65520, 0x7c00], // halfway to the next binade past the largest half: rounds to inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [Infinity, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002], // subnormals, ties to even
      [2 ** -14, 0x0400],
    ];
    for (const [value, bits] of cases) expect(f32ToF16Bits(value), `f16(${value})`).toBe(bits);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('every half survives half → f32 → half, and the array forms agree with the scalar ones', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const wide = f16ToF32(all);
    const back = f32ToF16(wide);
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN ? !Number.isNaN(wide[h]) : back[h] !== h || !Object.is(wide[h], f16BitsToF32(h)))
        wrong.push(h.toString(16));
    }
    expect(wrong.slice(0, 8), `${wrong.length} halves wrong`).toEqual([]);
  });
});

describe('bf16', () => {
  it('rounds to the nearest bfloat16, ties to even, NaN stays NaN', () => {
    const x = Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -3.5, NaN, Infinity]);
    const bits = f32ToBf16(x);
    expect(Array.from(bits.slice(0, 5))).toEqual([0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc060]);
    expect(bits[6]).toBe(0x7f80);
    const back = bf16ToF32(bits);
    expect(Number.isNaN(back[5])).toBe(true);
    expect(Array.from(back.slice(0, 5))).toEqual([1, 1, 1 + 2 ** -6, 1 + 2 ** -7, -3.5]);
  });
});
