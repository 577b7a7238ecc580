import { describe, expect, it } from 'vitest';
import { CpuPruneBackend, CpuTensor } from './cpuBackend';

// Small cases checked by hand (the comments give the arithmetic).
const be = new CpuPruneBackend();
const f = (a: number[], shape: number[]) => be.upload(Float32Array.from(a), shape);
const u = (a: number[]) => be.upload(Uint32Array.from(a), [a.length]);
const data = (t: unknown) => Array.from((t as CpuTensor).data);

describe('CpuPruneBackend', () => {
  it('raterSelect: softmax over text, mean over visual, strict > 1/T', async () => {
    // visual rows (1,0), (0,1); text rows (ln 3, 0), (0, 0), (0, ln 3):
    // row 0 logits (ln3, 0, 0) → (3/5, 1/5, 1/5); row 1 (0, 0, ln3) → (1/5, 1/5, 3/5).
    // m = (2/5, 1/5, 2/5); 1/T = 1/3 → raters {0, 2}.
    const ln3 = Math.log(3);
    const r = await be.raterSelect(f([1, 0, 0, 1], [2, 2]), f([ln3, 0, 0, 0, 0, ln3], [3, 2]));
    expect(Array.from(r.relevance).map((x) => +x.toFixed(6))).toEqual([0.4, 0.2, 0.4]);
    expect(Array.from(r.raters)).toEqual([0, 2]);
  });

  it('raterSelect: all-equal relevance → no raters (strict) / all (inclusive); one text token', async () => {
    const vis = f([1, 2, 3, 4], [2, 2]);
    const text = f([0, 0, 0, 0], [2, 2]); // every logit 0 → m = (1/2, 1/2)
    expect(Array.from((await be.raterSelect(vis, text)).raters)).toEqual([]);
    expect(Array.from((await be.raterSelect(vis, text, { inclusive: true })).raters)).toEqual([0, 1]);
    const one = await be.raterSelect(vis, f([5, -1], [1, 2]));
    expect(Array.from(one.relevance)).toEqual([1]);
    expect(Array.from(one.raters)).toEqual([]);
  });

  it('raterAttention: full causal denominator, head mean, GQA and top heads', () => {
    // H = 2, Hkv = 1, hd = 1 (scale 1), keys k = (0, ln2, 0, 5). Query at cache index 2:
    // head 0 q = 1 → logits (0, ln2, 0) → (1/4, 2/4, 1/4); head 1 q = 0 → (1/3, 1/3, 1/3).
    // Visual columns 1..3: column 3 is after the query → 0.
    const key = f([0, Math.log(2), 0, 5], [1, 4, 1]);
    const query = f([9, 9, 1, 9, 9, 9, 0, 9], [2, 4, 1]);
    const out = be.raterAttention(query, key, { queryRows: u([2]), visualStart: 1, visualCount: 3 });
    const want = [(0.5 + 1 / 3) / 2, (0.25 + 1 / 3) / 2, 0];
    data(out.block).forEach((x, i) => expect(x).toBeCloseTo(want[i], 6));
    data(out.scores).forEach((x, i) => expect(x).toBeCloseTo(want[i], 6));
    // Top-1 head: head 0's block sum 3/4 > head 1's 2/3 → head 0 only.
    const top = be.raterAttention(query, key, { queryRows: u([2]), visualStart: 1, visualCount: 3, topHeads: 1 });
    data(top.scores).forEach((x, i) => expect(x).toBeCloseTo([0.5, 0.25, 0][i], 6));
  });

  it('raterAttention: gravity divides by w(Δ); w(0) = √hd for hd = 2', () => {
    // hd = 2: w(Δ) = (2/√2)·cos(Δ) → w(0) = √2, w(1) = √2·cos 1.
    const key = f([0, 0, 0, 0], [1, 2, 2]);
    const query = f([0, 0, 0, 0], [1, 2, 2]);
    const positions = be.upload(Int32Array.from([0, 1]), [2]);
    const out = be.raterAttention(query, key, {
      queryRows: u([1]),
      visualStart: 0,
      visualCount: 2,
      gravity: { positions, ropeTheta: 10000 },
    });
    const w1 = Math.SQRT2 * Math.cos(1);
    data(out.scores).forEach((x, i) => expect(x).toBeCloseTo([0.5 / w1, 0.5 / Math.SQRT2][i], 6));
  });

  it('rankEstimate: rank of products and duplicates', async () => {
    expect(await be.rankEstimate(f([1, 2, 3, 2, 4, 6, 1, 0, 1], [3, 3]))).toBe(2);
    expect(await be.rankEstimate(f([0, 0, 0, 0], [2, 2]))).toBe(0);
    expect(await be.rankEstimate(f([1, 0, 0, 1e-3], [2, 2]))).toBe(2); // 1e-3 ≫ 2·2^-23
    expect(await be.rankEstimate(f([1, 0, 0, 1e-7], [2, 2]))).toBe(1); // 1e-7 < 2·2^-23
  });

  it('topkKeep: descending order, ties → lower index, keep ascending', () => {
    const r = be.topkKeep(f([0.1, 0.5, 0.5, 0.3, 0.5], [5]), 3);
    expect(data(r.order)).toEqual([1, 2, 4, 3, 0]);
    expect(data(r.keep)).toEqual([1, 2, 4]);
    expect(data(be.topkKeep(f([1, 1, 1], [3]), 2).keep)).toEqual([0, 1]);
    expect(() => be.topkKeep(f([1], [1]), 2)).toThrow(/k expected/);
  });

  it('dpcKnnMerge: density, δ, centres, assignment, merge; one token', () => {
    // D = 1 rows 0, 0.25, 0.75, 8, 8.5 (exact in f32). C = k = 3 (self included):
    // mean d² over the 3 nearest: t0 (0+.0625+.5625)/3, t1 (0+.0625+.25)/3 (densest),
    // t2 (0+.25+.5625)/3, t3 and t4 ≈ 17.6 and 20.1 (ρ ≈ 0). δ: t1 → global max 8.5,
    // t0 → 0.25, t2 → 0.5. ρ·δ: t1 7.66, t2 0.38, t0 0.20 (compared as log ρ + ln δ) →
    // centres (1, 2, 0).
    // t3, t4 join t2 (nearest centre) → merged (0.25, (0.75+8+8.5)/3, 0).
    const hidden = f([0, 0.25, 0.75, 8, 8.5], [5, 1]);
    const all = u([0, 1, 2, 3, 4]);
    const r = be.dpcKnnMerge(hidden, all, 3, { assignment: 'euclidean', merge: 'mean', densestDelta: 'global-max' });
    expect(data(r.centers)).toEqual([1, 2, 0]);
    expect(data(r.assignment)).toEqual([2, 0, 1, 1, 1]);
    data(r.merged).forEach((x, i) => expect(x).toBeCloseTo([0.25, 5.75, 0][i], 5));
    // C = k = 2: log ρ = −d²(nearest)/2: t0, t1 tie at −0.03125 (a mutual nearest pair), t2,
    // t3, t4 at −0.125. The tie rule (equal → lower index denser) orders t0 > t1 > … > t4: t0
    // takes the global max 8.5 as δ, t1 0.25 (to t0), t2 0.5, t3 7.25 (to t2), t4 0.5.
    // log ρ + ln δ: t0 2.11, t3 1.86, then t2 = t4 −0.82, t1 −1.42 → centres (0, 3): one
    // peak per mutual pair, as the reference's noise gives (the old strict rule made t0 and
    // t1 both centres and lumped 0.75, 8 and 8.5 together).
    const two = be.dpcKnnMerge(hidden, all, 2, { assignment: 'euclidean', merge: 'sum', densestDelta: 'global-max' });
    expect(data(two.centers)).toEqual([0, 3]);
    expect(data(two.assignment)).toEqual([0, 0, 0, 1, 1]);
    expect(data(two.merged)).toEqual([1, 16.5]);
    const single = be.dpcKnnMerge(hidden, u([3]), 1, { assignment: 'cosine', merge: 'mean', densestDelta: 'row-max' });
    expect(data(single.merged)).toEqual([8]);
    expect(data(single.assignment)).toEqual([0]);
    expect(data(single.centers)).toEqual([0]);
  });

  it('diversitySelect: first the most isolated token, then max–min cosine distance', () => {
    // Angles 0°, 5°, 10°, 90°, 180°: token 4 (180°) has the largest nearest-neighbour
    // distance (1 − cos 90° = 1), then 0 (distance 2 from it), then 3.
    const deg = [0, 5, 10, 90, 180].map((a) => (a * Math.PI) / 180);
    const vis = f(
      deg.flatMap((a) => [Math.cos(a), Math.sin(a)]),
      [5, 2],
    );
    expect(data(be.diversitySelect(vis, 3))).toEqual([0, 3, 4]);
  });

  it('gather: rows from src then extra; i32 positions', async () => {
    const src = f([1, 2, 3, 4, 5, 6], [3, 2]);
    const extra = f([7, 8], [1, 2]);
    expect(data(be.gather(src, extra, u([2, 3, 0])))).toEqual([5, 6, 7, 8, 1, 2]);
    const pos = be.upload(Int32Array.from([10, 11, 12]), [3]);
    const g = be.gather(pos, null, u([0, 2]));
    expect(g.dtype).toBe('i32');
    expect(Array.from(await be.read(g))).toEqual([10, 12]);
  });
});
