/**
 * Issue 11: pruned generation checked against an independent runner, on q4, q4f16 and fp16
 * packages of both fixture families, every method, on wasm.
 *
 * The engine (onnxruntime-web wasm, CpuPruneBackend behind the bridge, its prefill/decode)
 * against src/reference/runner.ts `generatePruned` (onnxruntime-node's CPU EP, its own
 * splice, plan application, caches and decode positions; the method sees f32 copies of the
 * activations). Must agree: every stage (kept sets, merges, recycled set; scores within
 * SCORE_REL; prunedParity.testutil.ts), the visual tokens entering every layer, the greedy
 * tokens (after every stage and through decode: all 16 on q4; on f16 packages all 16 unless
 * the two part at a step the reference won by less than F16_TIE, where two runtimes' f16
 * rounding may decide — seen once: llama-clip-gqa q4f16 divprune, step 5, margin 0.008), and the KV-cache bytes of
 * every layer, which the reference reads off the cache tensors it holds after the last token.
 *
 * Then the f16 packages against q4 (the same exactly-representable int4 weights, fixtures/
 * README.md; only the activation dtype differs): the same visual tokens per layer (counts and
 * kept sets) for every method.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReferenceModel, readFromMap } from '../convert/testing/reference/package';
import { pixelValuesFor } from '../convert/testing/reference/pixels';
import { ReferenceRunner } from '../convert/testing/reference/runner';
import { createMethod } from '../prune/registry';
import type { Engine, GenerateResult } from './engine';
import { FIXTURES, fixturePackage, memoryReader } from './fixturePackage.testutil';
import { compareStages } from './prunedParity.testutil';
import type { StageTrace } from '../common/trace';
import type { PackageDtype } from '../package/manifest';

const METHODS: [string, number][] = [
  ['sparsevlm', 64],
  ['sparsevlm-v1', 64],
  ['sparsevlm-v2', 64],
  ['fastv', 64],
  ['pdrop', 64],
  ['divprune', 64],
];
const DTYPES: PackageDtype[] = ['q4', 'q4f16', 'fp16'];
/** Two runtimes' f32 kernels differ in the last bits; f16 activations round each op to 2^-11. */
const SCORE_REL: Record<PackageDtype, number> = { fp32: 1e-5, q4: 1e-5, q4f16: 2e-2, fp16: 2e-2 };
/**
 * A greedy step the reference won by less than this is a tie at f16 resolution (the head's
 * f16 logits have a step of 2^-7 ≈ 0.008 at |logit| 8–16; two runtimes' rounding differs by
 * a step or two): with f16 activations the two runs may part there, and only there.
 */
const F16_TIE = 0.02;

/**
 * f16 only: the first stage at which the two runs keep different visual tokens, when every
 * token kept by one and not the other scored (in the reference) within `rel` of the lowest
 * score the reference kept — a near-tie at f16 resolution decided by rounding (seen:
 * qwen2-siglip q4f16, sparsevlm and pdrop, stage 0, scores ~1/576 each). Null when the kept
 * sets never differ; a difference that is not such a tie is left to compareStages to fail.
 */
function f16Part(
  a: StageTrace[],
  b: StageTrace[],
  visualTokens: number,
  rel: number,
): { stage: number; tokens: number[] } | null {
  let origin = Array.from({ length: visualTokens }, (_, i) => i);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const score = new Map(origin.map((id, j) => [id, b[i].scores[j]]));
    const keptA = new Set(a[i].kept);
    const keptB = new Set(b[i].kept);
    const diff = [...a[i].kept.filter((id) => !keptB.has(id)), ...b[i].kept.filter((id) => !keptA.has(id))];
    if (diff.length) {
      const line = Math.min(...b[i].kept.map((id) => score.get(id) ?? Infinity));
      const tied = diff.every((id) => score.has(id) && Math.abs(score.get(id)! - line) <= rel * line);
      return tied ? { stage: i, tokens: diff } : null;
    }
    origin = [...b[i].kept, ...b[i].merges.map((g) => g.id)];
  }
  return null;
}

let engine: Engine;
beforeAll(async () => {
  const { Engine } = await import('./engine');
  engine = await Engine.create({ preferBackend: 'wasm' });
  expect(engine.adapter.backend).toBe('wasm');
}, 120_000);
afterAll(async () => engine?.dispose());

describe.each(['llama-clip-gqa', 'qwen2-siglip'])('%s on wasm: engine = reference runner, pruned', (NAME) => {
  const golden = JSON.parse(readFileSync(join(FIXTURES, NAME, 'golden.json'), 'utf8')) as {
    question: string;
    input_ids: number[];
  };
  const imagePath = join(FIXTURES, NAME, 'image.png');
  const results = new Map<string, GenerateResult>(); // `${dtype} ${method}` → engine result
  const partedAt = new Map<string, number>(); // `${dtype} ${method}` → first stage parted on a near-tie
  let pixels: Float32Array;
  beforeAll(async () => {
    pixels = (
      await pixelValuesFor(new Uint8Array(readFileSync(join(FIXTURES, NAME, 'preprocessor_config.json'))), imagePath)
    ).data;
  });

  describe.each(DTYPES)('%s package', (dtype) => {
    let ref: ReferenceRunner;
    beforeAll(async () => {
      const files = await fixturePackage(NAME, dtype);
      await engine.load(memoryReader(files, `${NAME}-${dtype}`));
      ref = await ReferenceRunner.create(await loadReferenceModel(readFromMap(files)));
    }, 300_000);
    afterAll(async () => ref?.release());

    it.each(METHODS)(
      '%s %i: same stages, visual per layer, 16 tokens, KV bytes',
      async (method, budget) => {
        const got = await engine.generate({
          image: { bytes: new Uint8Array(readFileSync(imagePath)), name: 'image.png' },
          question: golden.question,
          settings: { method, budget },
          options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
          onToken: () => {},
        });
        const want = await ref.generatePruned(
          golden.input_ids,
          pixels,
          createMethod(method, { budget }, engine.dims()),
          engine.dims(),
          16,
        );
        expect(got.inputIds).toEqual(golden.input_ids);
        expect([engine.model!.manifest.dtype, ref.model.act]).toEqual([dtype, dtype === 'q4' ? 'float32' : 'float16']);
        // f16: the first stage whose kept set differs must differ by near-ties only (see
        // f16Part); the two sequences are different from there, so only the stages before it,
        // the visual counts and the tokens before it are compared.
        const parted =
          dtype === 'q4' ? null : f16Part(got.trace.stages, want.stages, engine.dims().visualTokens, SCORE_REL[dtype]);
        const stagesBefore = parted ? parted.stage : got.trace.stages.length;
        const { worstScore, swaps } = compareStages(
          got.trace.stages.slice(0, stagesBefore),
          want.stages.slice(0, stagesBefore),
          engine.dims().visualTokens,
          SCORE_REL[dtype],
        );
        if (parted)
          console.log(
            `  ${NAME} ${dtype} ${method}: parted at stage ${parted.stage} on near-tied tokens ${parted.tokens.join(', ')} (scores within ${SCORE_REL[dtype]} of the top-k line); later stages and tokens not compared`,
          );
        console.log(
          `${NAME} ${dtype} ${method} ${budget}: visual per layer ${got.trace.visualPerLayer.join('/')}; ${got.trace.stages.reduce((a, s) => a + s.merges.length, 0)} merged; worst score Δ ${worstScore.toExponential(2)}; swaps ${swaps.length ? swaps.join('; ') : 'none'}`,
        );
        expect(got.trace.stages.length, 'the method pruned').toBeGreaterThan(0);
        expect(got.trace.visualPerLayer).toEqual(want.visualPerLayer);
        expect(got.trace.raters?.raters ?? null).toEqual(want.raters);
        expect(got.tokenIds.length).toBe(16);
        // f32 activations: all 16 tokens equal. f16: equal until they part, and they may part
        // only at a step the reference won by less than F16_TIE (either token is right there).
        const part = got.tokenIds.findIndex((t, i) => t !== want.tokens[i]);
        if (parted) {
          /* different sequences from that stage on */
        } else if (dtype === 'q4' || part < 0) expect(got.tokenIds).toEqual(want.tokens);
        else {
          console.log(
            `  parted at step ${part} (reference margin ${want.margins[part].toFixed(4)}): engine ${got.tokenIds.slice(part).join(' ')}, reference ${want.tokens.slice(part).join(' ')}`,
          );
          expect(
            want.margins[part],
            `tokens part at step ${part}, which the reference won by ${want.margins[part]} (not an f16 tie)`,
          ).toBeLessThan(F16_TIE);
          expect(got.tokenIds.slice(0, part)).toEqual(want.tokens.slice(0, part));
        }
        expect(got.trace.cost.kvBytesPerLayer).toEqual(want.kvBytesPerLayer);
        results.set(`${dtype} ${method}`, got);
        if (parted) partedAt.set(`${dtype} ${method}`, parted.stage);
      },
      300_000,
    );
  });

  it.each(METHODS)('f16 packages: %s %i keeps the same visual tokens per layer as q4', (method) => {
    const q4 = results.get(`q4 ${method}`);
    expect(q4, 'the q4 run above passed').toBeDefined();
    for (const dtype of ['q4f16', 'fp16']) {
      const f16 = results.get(`${dtype} ${method}`);
      expect(f16, `the ${dtype} run above passed`).toBeDefined();
      expect(f16!.trace.visualPerLayer, `${dtype} visual per layer`).toEqual(q4!.trace.visualPerLayer);
      const n = partedAt.get(`${dtype} ${method}`) ?? f16!.trace.stages.length;
      expect(
        f16!.trace.stages.slice(0, n).map((s) => s.kept),
        `${dtype} kept sets (stages before an f16 near-tie part)`,
      ).toEqual(q4!.trace.stages.slice(0, n).map((s) => s.kept));
    }
  });
});
