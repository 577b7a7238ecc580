/**
 * The recorded oracle (fixtures/open-llava15-deep/golden.json, SparseVLM reference code in
 * fp32): our `sparsevlm` method on the CPU backend, driven through a plain-TS forward of the
 * fixture model. Unpruned greedy tokens first, to show the forward itself is right.
 *
 * What can match and what cannot: raters, stage 0 (scores, kept set, recycled list, cluster
 * count) and the visual counts of every layer are deterministic and must equal the golden.
 * The CONTENT of the merged tokens is not: on this fixture the DPC-kNN densities
 * ρ = exp(−mean d²) are ~1e−27 (hidden rows far apart), so the reference's `rand·1e−6`
 * density noise decides ρ's order, hence the centres, the merged tokens and everything after
 * stage 0 (kept sets of stages 1–2, pruned greedy tokens). We rank the densities themselves
 * (in log space, src/gpu/README.md), which a random draw does not reproduce: checked
 * 2026-12-02, stages 1–2 kept sets and the pruned tokens differ at both budgets. The last test
 * pins that cause.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureInputPipeline } from '../engine/fixtureInputs.testutil';
import { GoldenModel, readSafetensorsF32, runGolden } from './goldenModel.testutil';
import { createMethod } from './registry';
import { CpuTensor } from './cpuBackend';
import type { PruneMethod } from './method';
import { dpcKnnMergeReference } from '../gpu/kernels/dpc_knn_merge.reference';

const dir = 'fixtures/open-llava15-deep/';
interface GoldenStage {
  layer: number;
  visual_in: number;
  visual_out: number;
  kept: number[];
  scores: number[];
  recycled: number[];
  clusters: number;
}
interface GoldenRunRecord {
  greedy16: number[];
  trace: { v_start: number; raters: number[]; visual_per_layer: number[]; stages: GoldenStage[] };
}
const golden = JSON.parse(readFileSync(dir + 'golden.json', 'utf8')) as {
  input_ids: number[];
  greedy16: number[];
  sparsevlm: Record<string, GoldenRunRecord>;
};

let model: GoldenModel;
let visual: Float32Array;
const layout = { preLength: 2, visualCount: 576, textLength: golden.input_ids.length - 578 };

beforeAll(async () => {
  model = new GoldenModel(readSafetensorsF32(dir + 'model.safetensors'));
  const pixels = await fixtureInputPipeline(dir).preparePixels(
    new Uint8Array(readFileSync(dir + 'image.png')),
    'image.png',
  );
  visual = model.visual(pixels.data);
});

describe('golden: open-llava15-deep', () => {
  it('unpruned greedy tokens (checks the forward the method runs inside)', async () => {
    const run = await runGolden(model, createMethod('none', {}, model.dims), golden.input_ids, layout, visual, 16);
    expect(run.greedy).toEqual(golden.greedy16);
  });

  for (const budget of [64, 192]) {
    it(`sparsevlm "${budget}": raters, stage-0 scores/kept/recycled, every stage\u2019s counts, visual per layer`, async () => {
      const want = golden.sparsevlm[`sparsevlm${budget}`];
      const run = await runGolden(
        model,
        createMethod('sparsevlm', { budget }, model.dims),
        golden.input_ids,
        layout,
        visual,
        16,
      );
      expect(want.trace.v_start).toBe(layout.preLength);
      expect(run.raters).toEqual(want.trace.raters);
      expect(run.stages.map((s) => s.layer)).toEqual(want.trace.stages.map((s) => s.layer));
      want.trace.stages.forEach((w, i) => {
        const got = run.stages[i];
        const where = `stage ${i} (layer ${w.layer})`;
        expect([where, got.visualIn, got.visualOut]).toEqual([where, w.visual_in, w.visual_out]);
        expect([where, 'clusters', got.merges.length]).toEqual([where, 'clusters', w.clusters]);
        expect([where, 'recycled count', got.recycled.length]).toEqual([where, 'recycled count', w.recycled.length]);
        expect(got.scores.length).toBe(w.scores.length);
        if (i > 0) return; // after the first merge: decided by the reference's density noise (see top)
        expect([where, 'kept', got.kept]).toEqual([where, 'kept', w.kept]);
        expect([where, 'recycled', got.recycled]).toEqual([where, 'recycled', w.recycled]);
        let worst = 0;
        got.scores.forEach((s, j) => {
          worst = Math.max(worst, Math.abs(s - w.scores[j]) / (Math.abs(w.scores[j]) + 1e-7));
        });
        expect(worst, `${where}: worst relative score error`).toBeLessThan(1e-3);
      });
      expect(run.visualPerLayer).toEqual(want.trace.visual_per_layer);
    });
  }

  it('stage-0 DPC densities lie far below the reference\u2019s 1e−6 tie noise (why later stages cannot match)', async () => {
    let maxDensity = -1;
    const inner = createMethod('sparsevlm', { budget: 64 }, model.dims);
    const spy: PruneMethod = {
      name: 'spy',
      decodePositions: inner.decodePositions,
      begin: (c) => inner.begin(c),
      afterLayer: async (ctx) => {
        const plan = await inner.afterLayer(ctx);
        if (plan && ctx.layer === 2) {
          const rows = plan.trace.recycled.map((p) => layout.preLength + p);
          const r = dpcKnnMergeReference(
            (ctx.hidden as CpuTensor).data as Float32Array,
            model.dims.hiddenSize,
            rows,
            plan.trace.merges.length,
            { assignment: 'euclidean', merge: 'mean', densestDelta: 'global-max' },
          );
          maxDensity = Math.max(...r.density);
        }
        return plan;
      },
    };
    await runGolden(model, spy, golden.input_ids, layout, visual, 1);
    expect(maxDensity).toBeGreaterThan(0);
    expect(maxDensity).toBeLessThan(1e-20);
  });
});
