/**
 * Issue 11: WebGPU engine (Dawn) = wasm engine for every pruning method on the 32-layer
 * fixture open-llava15-deep (LLaVA-1.5 shape made by transformers, 576 visual tokens, hidden
 * rows far apart: DPC-kNN's exp(−mean d²) is ~1e−27 there). Kept sets, merges, visual counts
 * and 16 greedy tokens, as src/engine/pruneParity.ts defines them.
 *
 * PRUNED_PARITY_METHODS (comma-separated, or 'all') picks methods; default: sparsevlm.
 * Verified 2026-12-02 with all six (Dawn/SwiftShader vs wasm): kept sets, merges, visual per
 * layer and the 16 tokens identical for every method; worst score Δ 8.9e-5 (sparsevlm),
 * 9.2e-5 (v2), 2.3e-5 (fastv), 1.2e-4 (pdrop, layer 23). The pre-log-space kernel passes
 * here too on SwiftShader (1e−27 is still a normal f32): the underflow that made WebGPU and
 * wasm merge differently is pinned by dpc_knn_merge.test.ts ("densities that underflow exp
 * in f32"), which fails on that kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectParity, parityPair, type ParityPair } from './prunedParity.testutil';

const ALL: [string, number][] = [
  ['sparsevlm', 64],
  ['sparsevlm-v1', 64],
  ['sparsevlm-v2', 64],
  ['fastv', 64],
  ['pdrop', 64],
  ['divprune', 64],
];
/**
 * Scores are attention probabilities after up to 23 layers run by two ORT EPs (WebGPU f32 on
 * SwiftShader, wasm f32) with different kernels: they drift apart more than on the 4-layer
 * fixtures (3.3e-5 relative at layer 2, 1.2e-4 at layer 23 for pdrop). Decisions must still
 * be identical.
 */
const SCORE_REL = 1e-3;
/**
 * Each method costs two 32-layer generations, one of them on SwiftShader (~1–3 min each on a
 * 2-core machine): the unit tier runs sparsevlm, whose DPC-kNN recycling is what the deep
 * fixture exists for; PRUNED_PARITY_METHODS=all (or a list) runs the others too.
 */
const pick = (process.env.PRUNED_PARITY_METHODS ?? 'sparsevlm').split(',');
const CASES = pick.includes('all') ? ALL : ALL.filter(([m]) => pick.includes(m));

describe('open-llava15-deep (32 layers): WebGPU engine = wasm engine, every method', () => {
  let pair: ParityPair;
  beforeAll(async () => {
    pair = await parityPair('open-llava15-deep');
  }, 600_000);
  afterAll(async () => {
    await pair?.dispose();
  });

  it.each(CASES)(
    '%s budget %i: same stages, kept sets, merges, visual counts and 16 greedy tokens',
    async (method, budget) => {
      const { gpu, summary } = await expectParity(pair, method, budget, SCORE_REL);
      console.log(`open-llava15-deep ${summary}`);
      if (method.startsWith('sparsevlm') && method !== 'sparsevlm-v2')
        expect(
          gpu.trace.stages.some((s) => s.merges.length > 0),
          'recycling merged something',
        ).toBe(true);
    },
    1_800_000,
  );
});
