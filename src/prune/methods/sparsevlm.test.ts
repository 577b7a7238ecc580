import { describe, expect, it } from 'vitest';
import { createMethod } from '../registry';
import { plannedVisualCounts } from '../schedule';
import { plainScores, runToy, toyDims, toyRequest } from './harness.testutil';
import type { SparseVlm } from './sparsevlm';

const LAYOUT = { preLength: 3, visualCount: 576, textLength: 6 };

function expectClose(got: number[], want: number[], rel = 1e-4) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(rel * Math.abs(want[i]) + 1e-9);
}

describe('sparsevlm (v1.5) through a 32-layer toy stack on the CPU backend', async () => {
  const dims = toyDims(32, 576);
  const method = createMethod('sparsevlm', { budget: 64 }, dims) as SparseVlm;
  const run = await runToy(method, toyRequest(dims, LAYOUT, 3));

  it('visual tokens per layer equal the planned schedule (576 → 82 → 32 → 18)', () => {
    expect(run.visualPerLayer).toEqual(plannedVisualCounts(method, dims));
    expect(run.stages.map((s) => [s.layer, s.visualIn, s.visualOut])).toEqual([
      [2, 576, 82],
      [6, 82, 32],
      [15, 32, 18],
    ]);
  });

  it('scores are the raters\u2019 rows of the layer attention (checked by a plain loop)', () => {
    const raters = method.raterSelection()!.raters;
    expect(raters.length).toBeGreaterThan(0);
    for (const [i, layer] of [2, 6, 15].entries()) {
      const ctx = run.contexts[layer];
      const textStart = ctx.layout.preLength + ctx.layout.visualCount;
      expectClose(
        run.stages[i].scores,
        plainScores(
          ctx,
          raters.map((r) => textStart + r),
        ),
      );
    }
  });

  it('kept = the top-k scores in sequence order, in original coordinates', () => {
    for (const [i, layer] of [2, 6, 15].entries()) {
      const stage = run.stages[i];
      const origin = run.origins[layer];
      const byScore = [...stage.scores.keys()].sort((a, b) => stage.scores[b] - stage.scores[a] || a - b);
      const keepCount = [66, 30, 17][i];
      const kept = byScore.slice(0, keepCount).sort((a, b) => a - b);
      expect(stage.kept).toEqual(kept.map((v) => origin[v]));
      // Recycled: the best int(0.3·pruned)+1 pruned tokens, descending score.
      const recycled = byScore.slice(keepCount, keepCount + [154, 16, 5][i]);
      expect(stage.recycled).toEqual(recycled.map((v) => origin[v]));
    }
  });

  it('merges partition the recycled tokens; merged ids −(1000·stage + c + 1) join the sequence', () => {
    const clusters = [16, 2, 1];
    for (const [i, stage] of run.stages.entries()) {
      expect(stage.merges.map((m) => m.id)).toEqual(Array.from({ length: clusters[i] }, (_, c) => -(1000 * i + c + 1)));
      expect(stage.merges.flatMap((m) => m.members).sort((a, b) => a - b)).toEqual(
        [...stage.recycled].sort((a, b) => a - b),
      );
      for (const m of stage.merges) expect(m.members.length).toBeGreaterThan(0);
    }
    // Layer 3's visual origin: the kept patches, then the 16 merged ids.
    expect(Array.from(run.origins[3])).toEqual([...run.stages[0].kept, ...run.stages[0].merges.map((m) => m.id)]);
    // Merged tokens are visual from then on: stage 1 scores 82 tokens, some of them merged.
    expect(run.stages[1].scores.length).toBe(82);
  });

  it('merged rows are the mean of their members\u2019 layer-2 outputs; positions renumbered', () => {
    const ctx = run.contexts[2];
    const D = dims.hiddenSize;
    const hidden = (ctx.hidden as unknown as { data: Float32Array }).data;
    const after = run.hiddenAfterStage[0];
    const firstMergedRow = LAYOUT.preLength + 66;
    for (const [c, merge] of run.stages[0].merges.entries()) {
      for (let d = 0; d < D; d++) {
        const mean =
          merge.members.reduce((s, patch) => s + hidden[(LAYOUT.preLength + patch) * D + d], 0) / merge.members.length;
        expect(after[(firstMergedRow + c) * D + d]).toBeCloseTo(mean, 4);
      }
    }
    expect(Array.from(run.positionsPerLayer[3])).toEqual(Array.from({ length: 3 + 82 + 6 }, (_, i) => i));
  });
});

describe('sparsevlm degenerate cases', () => {
  it('no rater above the mean (identical text rows): every text token rates', async () => {
    const dims = toyDims(8, 40);
    const layout = { preLength: 2, visualCount: 40, textLength: 5 };
    const req = toyRequest(dims, layout, 5);
    const row = req.embeds.slice(0, dims.hiddenSize);
    req.textEmbeds = new Float32Array(5 * dims.hiddenSize).map((_, i) => row[i % dims.hiddenSize]);
    const method = createMethod('sparsevlm', { budget: 64 }, dims) as SparseVlm;
    const run = await runToy(method, req);
    expect(method.raterSelection()!.raters).toEqual([]);
    const ctx = run.contexts[run.stages[0].layer];
    expectClose(run.stages[0].scores, plainScores(ctx, [42, 43, 44, 45, 46]));
  });

  it('a question of one token: it is the only rater row (m = mean, no strict rater)', async () => {
    const dims = toyDims(8, 40);
    const layout = { preLength: 2, visualCount: 40, textLength: 1 };
    const method = createMethod('sparsevlm', { budget: 64 }, dims) as SparseVlm;
    const run = await runToy(method, toyRequest(dims, layout, 6));
    expect(method.raterSelection()!.raters).toEqual([]);
    expect(run.stages.length).toBeGreaterThan(0);
    const ctx = run.contexts[run.stages[0].layer];
    expectClose(run.stages[0].scores, plainScores(ctx, [42]));
  });

  it('raters off: every text token rates', async () => {
    const dims = toyDims(8, 40);
    const method = createMethod('sparsevlm', { budget: 64, params: { raters: 'off' } }, dims) as SparseVlm;
    const run = await runToy(method, toyRequest(dims, { preLength: 2, visualCount: 40, textLength: 4 }, 7));
    expect(method.raterSelection()).toBeNull();
    const ctx = run.contexts[run.stages[0].layer];
    expectClose(run.stages[0].scores, plainScores(ctx, [42, 43, 44, 45]));
  });

  it('no text after the image: nothing rates, nothing is pruned', async () => {
    const dims = toyDims(8, 40);
    const run = await runToy(
      createMethod('sparsevlm', { budget: 64 }, dims),
      toyRequest(dims, { preLength: 2, visualCount: 40, textLength: 0 }, 8),
    );
    expect(run.stages).toEqual([]);
    expect(run.visualPerLayer).toEqual(Array(8).fill(40));
  });

  it('fewer visual tokens than the table: k = V − 1, one token recycled into one cluster', async () => {
    const dims = toyDims(32, 40);
    // At 40 visual tokens the "192" table scales to 21/14/8; feed it 6 tokens instead.
    const method = createMethod('sparsevlm', { budget: 192 }, toyDims(32, 576));
    const run = await runToy(method, toyRequest(dims, { preLength: 2, visualCount: 6, textLength: 3 }, 9));
    expect(run.stages.map((s) => [s.visualIn, s.kept.length, s.recycled.length, s.merges.length, s.visualOut])).toEqual(
      [
        [6, 5, 1, 1, 6],
        [6, 5, 1, 1, 6],
        [6, 5, 1, 1, 6],
      ],
    );
  });

  it('a recycling set of one token: the merged token equals it', async () => {
    const dims = toyDims(8, 2);
    const run = await runToy(
      createMethod('sparsevlm', { budget: 64 }, toyDims(8, 576)),
      toyRequest(dims, { preLength: 1, visualCount: 2, textLength: 3 }, 10),
    );
    const stage = run.stages[0];
    expect([stage.kept.length, stage.recycled.length, stage.visualOut]).toEqual([1, 1, 2]);
    expect(stage.merges).toEqual([{ id: -1, members: stage.recycled }]);
    const ctx = run.contexts[stage.layer];
    const D = dims.hiddenSize;
    const hidden = (ctx.hidden as unknown as { data: Float32Array }).data;
    const patch = stage.recycled[0];
    const src = hidden.slice((1 + patch) * D, (2 + patch) * D);
    expect(Array.from(run.hiddenAfterStage[0].slice((1 + 1) * D, (1 + 2) * D))).toEqual(Array.from(src));
  });

  it('one visual token: stages are skipped (one must be kept, one pruned)', async () => {
    const dims = toyDims(8, 1);
    const run = await runToy(
      createMethod('sparsevlm', { budget: 64 }, toyDims(8, 576)),
      toyRequest(dims, { preLength: 1, visualCount: 1, textLength: 3 }, 11),
    );
    expect(run.stages).toEqual([]);
  });

  it('all-equal scores: the first k in sequence order are kept, the next ones recycled', async () => {
    const dims = toyDims(8, 40);
    const run = await runToy(createMethod('sparsevlm', { budget: 64, params: { raters: 'off' } }, toyDims(8, 576)), {
      ...toyRequest(dims, { preLength: 0, visualCount: 40, textLength: 3 }, 12),
      queryScale: 0,
    });
    const stage = run.stages[0];
    // Query 0 → every causal row is uniform; text rows see all 40 visual keys, so scores tie.
    expect(new Set(stage.scores.map((s) => s.toPrecision(6))).size).toBe(1);
    const k = stage.kept.length;
    expect(stage.kept).toEqual(Array.from({ length: k }, (_, i) => i));
    expect(stage.recycled).toEqual(Array.from({ length: stage.recycled.length }, (_, i) => k + i));
  });
});
