import { describe, expect, it } from 'vitest';
import { gpuBackend } from '../src/gpu/testing/harness';
import { SMALL_SHAPES, formatCounts, runStages } from './stageCounts';

// Issue 4: a SparseVLM stage must cost ~1 ms on a big GPU, so its round trips are what counts
// (they do not get faster with the GPU). Counted on the shipped method, backend and kernels,
// with the 7B schedule (576 → 82 → 32 → 18 visual tokens) on narrow layers.
describe('SparseVLM stage round trips on GpuPruneBackend (Dawn)', () => {
  it('after warmup: per stage 1 read-back (1 mapAsync), ≤ 2 submits (stage + the engine\u2019s gather), no pipeline; a repeated request creates no buffer', async () => {
    const { be, faults } = await gpuBackend();
    await be.warmup();
    const first = await runStages(be, SMALL_SHAPES, 3);
    const again = await runStages(be, SMALL_SHAPES, 3);
    console.log(formatCounts([again.begin, ...again.stages]));
    for (const run of [first, again]) {
      expect(run.stages.map((s) => [s.layer, s.visualIn, s.visualOut])).toEqual([
        [2, 576, 82],
        [6, 82, 32],
        [15, 32, 18],
      ]);
      expect(run.begin.readbacks).toBe(1); // raters, once per request
      expect(run.begin.mapAsync).toBe(1);
      for (const s of run.stages) {
        expect(s.readbacks, `layer ${s.layer} read-backs`).toBe(1);
        expect(s.mapAsync, `layer ${s.layer} mapAsync`).toBe(1);
        expect(s.submits, `layer ${s.layer} submits`).toBeLessThanOrEqual(2);
        expect(s.encoders, `layer ${s.layer} encoders`).toBeLessThanOrEqual(2);
        expect(s.pipelines, `layer ${s.layer} pipelines`).toBe(0);
        // Bind groups are cached by (binding signature, buffers): at most one per kernel family.
        expect(s.bindGroups, `layer ${s.layer} bind groups`).toBeLessThanOrEqual(6);
      }
    }
    for (const s of [again.begin, ...again.stages]) expect(s.buffers, `layer ${s.layer} buffers (repeat)`).toBe(0);
    expect(faults).toEqual([]);
  }, 120_000);
});
