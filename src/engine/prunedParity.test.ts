/**
 * Issue 4 acceptance: a pruned generation through the WebGPU engine (Dawn) gives the same
 * decisions and tokens as the wasm engine (CPU twins), on both shallow fixture models,
 * llama-clip-gqa and qwen2-siglip (4 layers each, 576 visual tokens; the sparsevlm schedule
 * scaled to their depth), at budgets 64 and 192. What "the same" means:
 * prunedParity.testutil.ts. Seen at budget 64, stage 0: two near-tied recycled tokens swap
 * places, and (with the fused layer graphs) at budget 192 the same inside a merge group's
 * member list; the kept sets, merge groups and tokens are identical.
 *
 * The 32-layer fixture, every method: prunedParityDeep.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectParity, parityPair, type ParityPair } from './prunedParity.testutil';

describe.each(['llama-clip-gqa', 'qwen2-siglip'])(
  'sparsevlm on %s: WebGPU engine (GpuPruneBackend) = wasm engine (CpuPruneBackend)',
  (NAME) => {
    let pair: ParityPair;
    beforeAll(async () => {
      pair = await parityPair(NAME);
    }, 300_000);
    afterAll(async () => {
      await pair?.dispose();
    });

    it.each([64, 192])(
      'budget %i: same stages, kept sets, merges, visual counts and 16 greedy tokens',
      async (budget) => {
        const { gpu, summary } = await expectParity(pair, 'sparsevlm', budget);
        console.log(`${pair.name} ${summary}`);
        expect(
          gpu.trace.stages.some((s) => s.merges.length > 0),
          'recycling merged something',
        ).toBe(true);
      },
      900_000,
    );
  },
);
