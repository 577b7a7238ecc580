import { describe, expect, it } from 'vitest';
import { INT4_BLOCK, dequantizeInt4, quantizeInt4 } from './quantize';
import { f16BitsToF32, f32ToF16Bits, f16ToF32, f32ToF16 } from '../common/float16';

describe('f32 → f16', () => {
  it('rounds known values to nearest even, saturating to inf', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [1e6, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001],
      [2 ** -14, 0x0400],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [0, 0],
      [-0, 0x8000],
      [Infinity, 0x7c00],
    ];
    for (const [value, bits] of cases) expect(f32ToF16Bits(value), `f16(${value})`).toBe(bits);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('round-trips every finite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // inf / NaN
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
  });

  it('converts arrays', () => {
    expect(Array.from(f16ToF32(f32ToF16(new Float32Array([0.5, -3.25, 1024]))))).toEqual([0.5, -3.25, 1024]);
  });
});

describe('int4 MatMulNBits packing', () => {
  it('packs a hand-computed row (K=3, padded to one block of 32)', () => {
    // lo = −1, hi = 2 → scale = 3/15 = 0.2, zp = round(1/0.2) = 5; codes −1→0, 0→5, 2→15, padding 0→5.
    const q = quantizeInt4(new Float32Array([-1, 0, 2]), 1, 3);
    expect(q.blocks).toBe(1);
    expect(q.scales[0]).toBeCloseTo(0.2, 7);
    expect(Array.from(q.zeroPoints)).toEqual([5]);
    const expected = new Uint8Array(16).fill(0x55);
    expected[0] = 0x50; // q0 = 0 (low nibble), q1 = 5 (high nibble)
    expected[1] = 0x5f; // q2 = 15, q3 = pad 5
    expect(Array.from(q.packed)).toEqual(Array.from(expected));
    expect(Array.from(dequantizeInt4(q)).map((v) => +v.toFixed(6))).toEqual([-1, 0, 2]);
  });

  it('packs two zero points per byte, even block in the low nibble', () => {
    const w = new Float32Array(2 * 40);
    for (let r = 0; r < 2; r++) {
      w[r * 40 + 0] = -1;
      w[r * 40 + 1] = 14; // block 0: zp = round(1/1) = 1
      w[r * 40 + 32] = -6;
      w[r * 40 + 33] = 9; // block 1: zp = round(6/1) = 6
    }
    const q = quantizeInt4(w, 2, 40);
    expect(q.blocks).toBe(2);
    expect(Array.from(q.zeroPoints)).toEqual([0x61, 0x61]);
    expect(q.packed.length).toBe(2 * 2 * 16);
  });

  it('dequantize(quantize(w)) is within scale/2 of w, for f32 and f16 scales', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const n = 5;
    const k = 70; // not a multiple of 32
    const w = Float32Array.from({ length: n * k }, () => rand() * (rand() > 0.9 ? 3 : 0.2));
    for (const half of [false, true]) {
      const q = quantizeInt4(w, n, k, half);
      const back = dequantizeInt4(q);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < k; c++) {
          const raw = q.scales[r * q.blocks + Math.floor(c / INT4_BLOCK)];
          const scale = half ? f16BitsToF32(raw) : raw;
          expect(Math.abs(back[r * k + c] - w[r * k + c])).toBeLessThanOrEqual(scale / 2 + 1e-7);
        }
      }
    }
  });
});
