/**
 * f16 activations (fp16/q4f16 graphs) on both backends: the cast kernel against its twin,
 * and every kernel fed f16 tensors giving exactly what it gives on the same values widened to
 * f32 (the cast is exact), on the GPU (Dawn) and the CPU backend; `gather` keeps f16 rows as
 * they are and rounds f32 merged rows to f16. Core WGSL only: this runs on SwiftShader, which
 * has no `shader-f16`.
 */
import { describe, expect, it } from 'vitest';
import { CpuPruneBackend } from './cpuBackend';
import type { PruneBackend } from './backend';
import { gaussian, gpuBackend } from '../gpu/testing/harness';
import { castF16ToF32Reference, castF32ToF16Reference } from '../gpu/kernels/cast_f16.reference';
import { GpuTensor } from '../gpu/tensor';
import type { BTensor } from '../common/tensor';

const Lpre = 3,
  V = 40,
  T = 7,
  D = 48,
  H = 4,
  Hkv = 2,
  hd = 12;
const L = Lpre + V + T;

/** f16 bits of gaussian data, and the same values as f32. */
function halfData(n: number, seed: number, scale = 1): { bits: Uint16Array; wide: Float32Array } {
  const bits = castF32ToF16Reference(gaussian(n, seed, scale));
  return { bits, wide: castF16ToF32Reference(bits) };
}

/** Every activation-reading kernel on `be`, inputs in f16 bits or their f32 widening. */
async function kernels(be: PruneBackend, half: boolean) {
  const act = (d: { bits: Uint16Array; wide: Float32Array }, shape: number[]) =>
    be.upload(half ? d.bits : d.wide, shape);
  const hidden = act(halfData(L * D, 1), [L, D]);
  const visual = act(halfData(V * D, 2, 0.4), [V, D]);
  const text = act(halfData(T * D, 3, 0.4), [T, D]);
  const query = act(halfData(H * L * hd, 4), [H, L, hd]);
  const key = act(halfData(Hkv * L * hd, 5), [Hkv, L, hd]);
  const sel = await be.raterSelect(visual, text);
  const rows = be.upload(Uint32Array.from([L - 3, L - 2, L - 1]), [3]);
  const att = be.raterAttention(query, key, { queryRows: rows, visualStart: Lpre, visualCount: V, topHeads: 3 });
  const candidates = be.upload(
    Uint32Array.from({ length: 20 }, (_, i) => Lpre + 2 * i),
    [20],
  );
  const dpc = be.dpcKnnMerge(hidden, candidates, 4, {
    assignment: 'euclidean',
    merge: 'mean',
    densestDelta: 'global-max',
  });
  const diverse = be.diversitySelect(visual, 9);
  const gatherRows = be.upload(Uint32Array.from([0, 5, L + 1, 9, L + 3, L - 1]), [6]);
  const gathered = be.gather(hidden, dpc.merged, gatherRows);
  const out = {
    relevance: Array.from(sel.relevance),
    raters: Array.from(sel.raters),
    block: Array.from(await be.read(att.block)),
    scores: Array.from(await be.read(att.scores)),
    centers: Array.from(await be.read(dpc.centers)),
    assignment: Array.from(await be.read(dpc.assignment)),
    merged: (await be.read(dpc.merged)) as Float32Array,
    diverse: Array.from(await be.read(diverse)),
    gatheredDtype: gathered.dtype,
    gathered: await be.read(gathered),
  };
  for (const t of [
    hidden,
    visual,
    text,
    query,
    key,
    rows,
    att.block,
    att.scores,
    candidates,
    dpc.merged,
    dpc.assignment,
    dpc.centers,
    diverse,
    gatherRows,
    gathered,
  ] as BTensor[])
    be.release(t);
  return out;
}

describe('f16 activations', () => {
  it('cast_f16.wgsl: half → f32 exact (odd count), f32 → half within one half ulp of round-to-nearest-even', async () => {
    const { be, door, faults } = await gpuBackend();
    const n = 1001;
    const src = gaussian(n, 7, 3);
    src[0] = 65504;
    src[1] = -0;
    src[2] = 6e-8;
    src[3] = 1 + 2 ** -11; // max half, −0, subnormal, a tie
    const bits = castF32ToF16Reference(src);
    const half = be.upload(bits, [n]) as GpuTensor;
    const widened = be.upload(new Float32Array(n), [n]) as GpuTensor; // a buffer of n words
    be['k'].cast.toF32(half.buffer, n, widened.buffer);
    widened.host = null;
    expect(Array.from((await be.read(widened)) as Float32Array)).toEqual(Array.from(castF16ToF32Reference(bits)));
    const f32 = be.upload(src, [n]) as GpuTensor;
    const packed = be.upload(new Uint16Array(n), [n]) as GpuTensor;
    be['k'].cast.toF16(f32.buffer, n, packed.buffer);
    packed.host = null;
    const got = (await be.read(packed)) as Uint16Array;
    const off = Array.from(got).filter((h, i) => Math.abs(h - bits[i]) > 1);
    const notNearest = Array.from(got).filter((h, i) => h !== bits[i]).length;
    console.log(`f32 → half on this adapter: ${notNearest} of ${n} differ from round-to-nearest-even (by one ulp)`);
    expect(off).toEqual([]);
    for (const t of [half, widened, f32, packed]) be.release(t);
    door.flush();
    expect(faults).toEqual([]);
  });

  it('GPU backend: every kernel on f16 inputs = the same kernel on their f32 values; gather keeps f16', async () => {
    const { be, faults } = await gpuBackend();
    const half = await kernels(be, true);
    const wide = await kernels(be, false);
    expect(half.gatheredDtype).toBe('f16');
    expect(wide.gatheredDtype).toBe('f32');
    const { gathered: gh, gatheredDtype: _a, ...restHalf } = half;
    const { gathered: gw, gatheredDtype: _b, ...restWide } = wide;
    expect(restHalf).toEqual(restWide);
    // Kept rows are copied bit for bit; merged rows (f32) are rounded to half (≤ 1 ulp from RNE).
    const want = castF32ToF16Reference(gw as Float32Array);
    const diff = Array.from(gh as Uint16Array).map((h, i) => Math.abs(h - want[i]));
    expect(Math.max(...diff)).toBeLessThanOrEqual(1);
    [0, 1, 3, 5].forEach((row) =>
      expect(Array.from((gh as Uint16Array).subarray(row * D, row * D + D))).toEqual(
        Array.from(want.subarray(row * D, row * D + D)),
      ),
    );
    expect(faults).toEqual([]);
  });

  it('CPU backend: every kernel on f16 inputs = on their f32 values, and = the GPU backend', async () => {
    const cpu = new CpuPruneBackend();
    const half = await kernels(cpu, true);
    const wide = await kernels(cpu, false);
    expect(half.gatheredDtype).toBe('f16');
    const { gathered: gh, gatheredDtype: _a, ...restHalf } = half;
    const { gathered: gw, gatheredDtype: _b, ...restWide } = wide;
    expect(restHalf).toEqual(restWide);
    expect(Array.from(gh)).toEqual(Array.from(castF32ToF16Reference(gw as Float32Array)));
    const { be } = await gpuBackend();
    const gpu = await kernels(be, true);
    expect([gpu.raters, gpu.centers, gpu.assignment, gpu.diverse]).toEqual([
      half.raters,
      half.centers,
      half.assignment,
      half.diverse,
    ]);
  });

  it('refusals name both dtypes: an i32 activation, f16 rows of odd width', async () => {
    const { be } = await gpuBackend();
    const cpu = new CpuPruneBackend();
    for (const b of [be, cpu] as PruneBackend[]) {
      const ints = b.upload(new Int32Array(V * D), [V, D]);
      expect(() => b.diversitySelect(ints, 3), b.kind).toThrow(/visual.*f32 or f16.*i32/);
    }
    const odd = be.upload(new Uint16Array(4 * 3), [4, 3]);
    expect(() => be.gather(odd, null, be.upload(Uint32Array.from([0]), [1]))).toThrow(/even width.*width 3/);
  });
});
