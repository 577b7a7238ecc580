/**
 * MatMulNBits at accuracy_level 4 (int8 activations, onnxruntime's DP4A kernel; the default on
 * hardware GPUs, ortEnv.ts `prefillTuning`) against level 0 (exact, the package's) on Dawn, on
 * the margins fixture (src/convert/synthetic/margins.ts: every pruning decision and greedy token
 * won by a measured margin, src/gpu/README.md). Level 4 moves logits by ~1e-2; on a model whose
 * decisions are not near-ties it must keep every method's kept sets, visual counts per layer and
 * tokens. (On the random fixtures, whose top-k lines sit 0.02 % apart, it need not — nor does
 * f16.) The first-step logits must differ: level 4 really ran (SwiftShader offers `subgroups`,
 * so the DP4A kernel is taken here as on an NVIDIA GPU).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult } from './engine';
import { MARGINS_BUDGETS, MARGINS_QUESTION, marginsImagePng } from '../convert/synthetic/margins';
import { dawnEngine, FIXTURES, memoryReader } from './fixturePackage.testutil';
import { marginsCheckpoint, marginsPackage } from './marginsFixture.testutil';

describe('MatMulNBits accuracy_level 4 vs 0 on WebGPU (margins fixture, q4)', () => {
  let exact: Engine;
  let int8: Engine;
  let image: Uint8Array;
  beforeAll(async () => {
    const base = await dawnEngine();
    const { Engine } = await import('./engine');
    exact = Engine.withRuntime({ ...base.rt, tuning: { ...base.rt.tuning, matmulAccuracy: 0 } });
    int8 = Engine.withRuntime({ ...base.rt, tuning: { ...base.rt.tuning, matmulAccuracy: 4 } });
    const files = await marginsPackage(await marginsCheckpoint(join(FIXTURES, 'open-llava15-deep')), 'q4');
    await exact.load(memoryReader(files, 'margins-q4'));
    await int8.load(memoryReader(files, 'margins-q4'));
    image = await marginsImagePng();
  }, 300_000);
  afterAll(async () => {
    await exact?.dispose();
    await int8?.dispose();
  });

  const run = (e: Engine, method: string, budget: number): Promise<GenerateResult> =>
    e.generate({
      image: { bytes: image, name: 'image.png' },
      question: MARGINS_QUESTION,
      settings: { method, budget },
      options: { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0 },
    });

  // Two methods by default (SparseVLM's top-k and recycling lines, DivPrune's picks; ~1 min each on
  // 2 cores); MATMUL_ACCURACY_ALL=1 runs every method of the fixture (all passed, 2026-12-02).
  const cases: [string, number][] = process.env.MATMUL_ACCURACY_ALL
    ? [['none', 0], ...MARGINS_BUDGETS]
    : MARGINS_BUDGETS.filter(([m]) => m === 'sparsevlm' || m === 'divprune');
  it.each(cases)(
    '%s %i: same kept sets, visual tokens per layer and tokens; logits within 5e-2',
    async (method, budget) => {
      const want = await run(exact, method, budget);
      const got = await run(int8, method, budget);
      const d = Array.from(got.firstStepLogits).map((v, i) => Math.abs(v - want.firstStepLogits[i]));
      const maxDiff = Math.max(...d);
      console.log(`${method} ${budget}: max |Δ first-step logit| level 4 vs 0 = ${maxDiff.toExponential(2)}`);
      expect(maxDiff, 'level 4 ran (logits moved)').toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(5e-2);
      expect(got.trace.stages.map((s) => s.kept)).toEqual(want.trace.stages.map((s) => s.kept));
      expect(got.trace.visualPerLayer).toEqual(want.trace.visualPerLayer);
      expect(got.tokenIds).toEqual(want.tokenIds);
    },
    300_000,
  );
});
