import { describe, expect, it } from 'vitest';
import { createMethod } from '../registry';
import { plannedVisualCounts } from '../schedule';
import { CpuTensor } from '../cpuBackend';
import { plainScores, runToy, toyDims, toyRequest } from './harness.testutil';
import type { SparseVlmV1 } from './sparsevlmV1';
import type { SparseVlmV2 } from './sparsevlmV2';

const LAYOUT = { preLength: 3, visualCount: 576, textLength: 6 };
const L = 3 + 576 + 6;

function expectClose(got: number[], want: number[], rel = 1e-4) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(rel * Math.abs(want[i]) + 1e-9);
}

describe('sparsevlm-v1 (rank-adaptive)', () => {
  const dims = toyDims(32, 576);
  it('code rule keep = min(int(rank·scale + bias), V − 1), rank in the trace, stages after 2/6/15/19', async () => {
    const method = createMethod('sparsevlm-v1', { budget: 128 }, dims) as SparseVlmV1;
    const run = await runToy(method, toyRequest(dims, LAYOUT, 21));
    const raters = method.raterSelection()!.raters.length;
    expect(run.stages.map((s) => s.layer)).toEqual([2, 6, 15, 19]);
    for (const stage of run.stages) {
      expect(stage.rank).toBeGreaterThan(0);
      expect(stage.rank).toBeLessThanOrEqual(Math.min(raters, stage.visualIn));
      expect(stage.kept.length).toBe(Math.min(Math.trunc(stage.rank! * 9 + 6), stage.visualIn - 1));
    }
  });
  it('keep rules, skip and clamp', () => {
    const m = createMethod('sparsevlm-v1', { budget: 64 }, dims) as SparseVlmV1;
    expect(m.keepFromRank(3, 100)).toBe(2); // int(3·0.8)
    expect(m.keepFromRank(1, 100)).toBe(1); // int(0.8) = 0 → clamped to 1
    expect(m.keepFromRank(5, 5)).toBeNull(); // V − rank = 0: skip
    const big = createMethod('sparsevlm-v1', { budget: 192 }, dims) as SparseVlmV1;
    expect(big.keepFromRank(10, 100)).toBe(99); // min(135, V − 1)
    const paper = createMethod(
      'sparsevlm-v1',
      { budget: 64, params: { rule: 'paper', lambda: 0.5 } },
      dims,
    ) as SparseVlmV1;
    expect(paper.keepFromRank(10, 100)).toBe(55); // delete int(0.5·90) = 45
    expect(paper.keepFromRank(99, 100)).toBeNull(); // delete int(0.5) = 0: skip
  });
  it('skips a stage when V − rank = 0 (as many raters as visual tokens, full rank)', async () => {
    const small = toyDims(8, 3);
    const method = createMethod('sparsevlm-v1', { budget: 192, params: { raters: 'off' } }, toyDims(8, 576));
    const run = await runToy(method, toyRequest(small, { preLength: 1, visualCount: 3, textLength: 8 }, 22));
    expect(run.stages).toEqual([]);
  });
});

describe("sparsevlm-v1 --schedule video (the reference's video branch)", () => {
  it('one stage after layer 1 keeping rank(P) tokens, then recycling; after layer 0 at 4 layers', async () => {
    const dims = toyDims(32, 2048);
    const method = createMethod('sparsevlm-v1', { budget: 64, params: { schedule: 'video' } }, dims) as SparseVlmV1;
    expect(method.stageLayers).toEqual([1]);
    expect(method.keepFromRank(7, 2048)).toBe(7); // scale 1, bias 0 whatever the budget
    expect(method.keepFromRank(2048, 2048)).toBeNull();
    const run = await runToy(method, toyRequest(dims, { preLength: 3, visualCount: 2048, textLength: 6 }, 31));
    expect(run.stages.map((s) => s.layer)).toEqual([1]);
    const [stage] = run.stages;
    expect(stage.kept.length).toBe(stage.rank);
    expect(stage.merges.length).toBeGreaterThan(0); // recycling on, as in the reference
    expect(stage.visualOut).toBe(stage.rank! + stage.merges.length);
    const image = createMethod('sparsevlm-v1', { budget: 64 }, dims) as SparseVlmV1;
    expect(image.stageLayers).toEqual([2, 6, 15, 19]);
    expect(
      (createMethod('sparsevlm-v1', { params: { schedule: 'video' } }, toyDims(4, 576)) as SparseVlmV1).stageLayers,
    ).toEqual([0]);
  });
});

describe('sparsevlm-v2', () => {
  const dims = toyDims(32, 576);
  it('gravity + top heads are passed to scoring; table counts, no merges, original positions', async () => {
    const method = createMethod('sparsevlm-v2', { budget: 64 }, dims) as SparseVlmV2;
    expect(method.topHeads).toBe(2); // round(14·4/32)
    const run = await runToy(method, toyRequest(dims, LAYOUT, 23));
    expect(run.visualPerLayer).toEqual(plannedVisualCounts(method, dims));
    expect(run.stages.map((s) => s.visualOut)).toEqual([66, 34, 20]);
    expect(run.stages.every((s) => s.merges.length === 0 && s.recycled.length === 0)).toBe(true);
    // Original positions: layer 3 sees pre, kept visual, text at their prefill positions.
    const kept = run.stages[0].kept;
    expect(Array.from(run.positionsPerLayer[3])).toEqual([
      0,
      1,
      2,
      ...kept.map((p) => 3 + p),
      ...Array.from({ length: 6 }, (_, i) => 579 + i),
    ]);
    // Scores differ from plain head-mean scores (gravity and head selection took effect) …
    const ctx = run.contexts[2];
    const raters = method.raterSelection()!.raters.map((r) => 579 + r);
    const plain = plainScores(ctx, raters);
    expect(run.stages[0].scores.some((s, i) => Math.abs(s - plain[i]) > 1e-3 * Math.abs(plain[i]))).toBe(true);
    // … and equal the backend's scoring with exactly those options.
    const direct = ctx.backend.raterAttention(ctx.query, ctx.key, {
      queryRows: ctx.backend.upload(Uint32Array.from(raters), [raters.length]),
      visualStart: 3,
      visualCount: 576,
      topHeads: 2,
      gravity: { positions: ctx.positions, ropeTheta: 10000 },
    });
    expect(run.stages[0].scores).toEqual(Array.from((direct.scores as CpuTensor).data));
  });
  it('without gravity and with all heads, v2 scores are the plain head mean', async () => {
    const method = createMethod('sparsevlm-v2', { budget: 64, params: { gravity: 'off', topHeads: 4 } }, dims);
    const run = await runToy(method, toyRequest(dims, LAYOUT, 23));
    const raters = method.raterSelection!()!.raters.map((r) => 579 + r);
    expectClose(run.stages[0].scores, plainScores(run.contexts[2], raters));
  });
});

describe('fastv', () => {
  it('after layer K−1 by the last prompt token, keeps its count at original positions', async () => {
    const dims = toyDims(32, 576);
    const method = createMethod('fastv', { budget: 64 }, dims);
    const run = await runToy(method, toyRequest(dims, LAYOUT, 31));
    expect(run.stages.map((s) => [s.layer, s.visualIn, s.visualOut])).toEqual([[1, 576, 47]]);
    expectClose(run.stages[0].scores, plainScores(run.contexts[1], [L - 1]));
    expect(run.visualPerLayer).toEqual(plannedVisualCounts(method, dims));
    expect(run.positionsPerLayer[2][3]).toBe(3 + run.stages[0].kept[0]);
    expect(run.positionsPerLayer[2].at(-1)).toBe(L - 1);
  });
  it('K and R parameters', async () => {
    const dims = toyDims(8, 40);
    const run = await runToy(
      createMethod('fastv', { params: { K: 3, R: 0.75 } }, dims),
      toyRequest(dims, { preLength: 2, visualCount: 40, textLength: 3 }, 32),
    );
    expect(run.stages.map((s) => [s.layer, s.visualOut])).toEqual([[2, 10]]);
  });
});

describe('pdrop', () => {
  it('after layers 7/15/23: λ, λ², λ³ of Vp by the last instruction token, renumbered', async () => {
    const dims = toyDims(32, 576);
    const method = createMethod('pdrop', {}, dims);
    const run = await runToy(method, toyRequest(dims, LAYOUT, 41));
    expect(run.stages.map((s) => [s.layer, s.visualIn, s.visualOut])).toEqual([
      [7, 576, 288],
      [15, 288, 144],
      [23, 144, 72],
    ]);
    expectClose(run.stages[1].scores, plainScores(run.contexts[15], [3 + 288 + 6 - 1]));
    expect(Array.from(run.positionsPerLayer[8])).toEqual(Array.from({ length: 3 + 288 + 6 }, (_, i) => i));
    expect(run.visualPerLayer).toEqual(plannedVisualCounts(method, dims));
  });
});

describe('divprune', () => {
  it('before layer 0: k diverse tokens, sequence order, renumbered; every layer sees k', async () => {
    const dims = toyDims(8, 40);
    const method = createMethod('divprune', { params: { keep: 10 } }, dims);
    const req = toyRequest(dims, { preLength: 2, visualCount: 40, textLength: 3 }, 51);
    const run = await runToy(method, req);
    expect(run.stages.length).toBe(1);
    const stage = run.stages[0];
    expect([stage.layer, stage.visualIn, stage.visualOut, stage.scores.length]).toEqual([-1, 40, 10, 0]);
    expect(stage.kept).toEqual([...stage.kept].sort((a, b) => a - b));
    const direct = req.backend.diversitySelect(new CpuTensor(req.embeds.slice(2 * 16, 42 * 16), [40, 16], 'f32'), 10);
    expect(stage.kept).toEqual(Array.from((direct as CpuTensor).data));
    expect(run.visualPerLayer).toEqual(Array(8).fill(10));
    expect(Array.from(run.positionsPerLayer[0])).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });
});

describe('none', () => {
  it('never prunes', async () => {
    const dims = toyDims(4, 40);
    const run = await runToy(
      createMethod('none', {}, dims),
      toyRequest(dims, { preLength: 2, visualCount: 40, textLength: 3 }, 61),
    );
    expect(run.stages).toEqual([]);
    expect(run.visualPerLayer).toEqual([40, 40, 40, 40]);
  });
});
