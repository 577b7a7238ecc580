/**
 * Golden tests: convert each fixture checkpoint, run the package with the reference runner,
 * compare with what Hugging Face transformers recorded (fixtures/<name>/golden.json).
 *
 * fp32 must reproduce transformers: first-step logits within 1e-4, the same 16 greedy tokens.
 *
 * llama-clip-gqa and qwen2-siglip: every quantised weight lies on our int4 grid
 * (fixtures/make_fixtures.py, `snap_int4`: per block of 32, w = (q − z)·s with s representable
 * in fp16, codes 0 and 15 present), so quantizeInt4 recovers the same s, z and q and the weight
 * MatMulNBits multiplies by is bit-identical to the checkpoint's (checked below, f32 and f16
 * scales). q4 must therefore reproduce the SAME goldens as fp32 with the SAME tolerance, 1e-4
 * on all first-step logits: the only difference left is fp32 summation order (MatMulNBits vs
 * MatMul vs torch), which the fp32 package measures at ≤ 3e-5 here; int4 rounding of
 * off-grid weights would move logits by ~1–2 (see open-llava15-deep below), so 1e-4 cannot be
 * passed by accident. q4f16 has the same exact weights but fp16 activations: its error is
 * fp16 rounding of activations, the same as the fp16 package's; it must give the same 16
 * tokens (min margins 0.144 / 0.121) and logits within FP16_LOGIT_TOL.
 *
 * open-llava15-deep (the shared SparseVLM oracle, not on the grid) keeps the two indirect
 * q4 checks:
 *  1. Exactly: the q4 package against the fp32 graphs run on the dequantised weights
 *     (what MatMulNBits multiplies by): logits within 1e-4 and the same 16 tokens. This
 *     pins the int4 packing, scales, zero points and nibble order end to end.
 *  2. Against transformers, with a tolerance derived from the quantisation error itself:
 *     round-to-nearest int4 leaves each weight off by up to ±scale/2 of its block. The same
 *     fp32 graphs run with independent uniform noise of that size on every quantised weight
 *     show how far logits move under perturbations of exactly that magnitude; q4 must stay
 *     within 1.5× the largest of three such draws. Measured (top-10 max |Δ|): 5.66 vs noise
 *     4.35/6.32/4.19 — far above its logit margins (0.06), so its q4 greedy tokens can NOT
 *     match transformers' fp32 tokens; they are compared with (1) instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from './checkpoint/checkpoint';
import { convertCheckpoint } from './convert';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { dequantizeInt4, quantizeInt4 } from './quantize';
import { loadReferenceModel, readFromMap } from './testing/reference/package';
import { pixelValuesFor } from './testing/reference/pixels';
import { type GenerateResult, ReferenceRunner } from './testing/reference/runner';
import type { PackageDtype } from '../package/manifest';
import { MemorySink } from '../package/sink';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

interface Golden {
  input_ids: number[];
  first_step_top10: [number, number][];
  first_step_logits?: number[];
  greedy16: number[];
  pixel_values_sum?: number;
  /** Present on the fixtures whose quantised weights were snapped onto the int4 grid. */
  int4_grid?: { block: number; weights: string[] };
}

/**
 * Fixtures whose Linear weights lie on the int4 grid (make_fixtures.py snap_int4). The four of
 * issue 11 are checkpoints as the hub ships them and the config rows transformers accepts
 * (fixtures/README.md, docs/CHECKPOINTS.md): BF16 in 3 shards + index, a Mistral decoder in F16
 * under in-memory key names, Qwen2+SigLIP at 384 px (729 tokens, image_seq_length 576 in
 * config.json, tied embeddings), the llava-hf key layout with two feature layers, SigLIP
 * "default" and no projector bias. Their goldens come from the stored (bf16/f16) weights
 * upcast, so fp32 must match as tightly as for the fp32 fixtures.
 */
const ISSUE11 = ['llama-clip-bf16-sharded', 'mistral-clip', 'qwen2-siglip-384', 'llama-siglip-hubkeys'];
const ON_GRID = new Set(['llama-clip-gqa', 'qwen2-siglip', ...ISSUE11]);
/** fp32 summation order only (fp32 package measures ≤ 3e-5 against transformers). */
const LOGIT_TOL = 1e-4;
/**
 * q4f16: exact weights, fp16 activations (relative rounding 2^-11 at every op of 4 decoder
 * layers + vision tower) on logits of magnitude ~5. Measured 1.22e-2 (llama-clip-gqa) and
 * 1.35e-2 (qwen2-siglip); 5e-2 leaves ~4× headroom, is still below the fixtures' min greedy
 * margins (0.144 / 0.121), and is ~20× below what off-grid int4 rounding moves logits by.
 */
const FP16_LOGIT_TOL = 5e-2;
/**
 * qwen2-siglip-384 has 3× stronger linear layers (init std 0.3, needed because its tied
 * embeddings otherwise repeat one token) and logits up to 20.7: fp16 rounding grows with the
 * activations it rounds. Measured 0.121; 0.2 stays below its min greedy margin (0.263).
 */
const FP16_LOGIT_TOL_BY_FIXTURE: Record<string, number> = { 'qwen2-siglip-384': 0.2 };

/** Linear weights the q4 package quantises (every Linear of text, vision, projector, lm_head). */
const QUANTISED = /(proj|fc1|fc2|linear_\d|lm_head)\.weight$/;

/** The checkpoint with its quantised weights replaced by `transform(w, N, K)`. */
function withLinearWeights(
  ckpt: Checkpoint,
  transform: (w: Float32Array, n: number, k: number) => Float32Array,
): Checkpoint {
  const read = async (name: string) => {
    const w = await ckpt.read(name);
    const info = ckpt.info(name);
    if (!QUANTISED.test(name) || !info || info.shape.length !== 2) return w;
    return transform(w, info.shape[0], info.shape[1]);
  };
  return Object.create(ckpt, { read: { value: read } }) as Checkpoint;
}

/** W + u·scale, u ~ U(−½, ½) from a seeded LCG: noise the size of int4 rounding error. */
function noisyWeights(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return (w: Float32Array, n: number, k: number) => {
    const q = quantizeInt4(w, n, k);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < k; c++) w[r * k + c] += uniform() * q.scales[r * q.blocks + (c >> 5)];
    return w;
  };
}

async function runPackage(
  ckpt: Checkpoint,
  dtype: PackageDtype,
  golden: Golden,
  pixels: Float32Array,
  steps: number,
): Promise<GenerateResult> {
  const sink = new MemorySink();
  await convertCheckpoint(ckpt, { dtype, sink });
  const runner = await ReferenceRunner.create(await loadReferenceModel(readFromMap(sink.files)));
  try {
    return await runner.generate(golden.input_ids, pixels, steps);
  } finally {
    await runner.release();
  }
}

function maxTop10Error(golden: Golden, logits: Float32Array): number {
  return Math.max(...golden.first_step_top10.map(([id, value]) => Math.abs(logits[id] - value)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.each(['llama-clip-gqa', 'qwen2-siglip', 'open-llava15-deep', ...ISSUE11])('golden %s', (name) => {
  const dir = join(FIXTURES, name);
  const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  let ckpt: Checkpoint;
  let pixels: Float32Array;

  beforeAll(async () => {
    ckpt = await openCheckpointDir(dir);
    pixels = (await pixelValuesFor(ckpt.files['preprocessor_config.json'], join(dir, 'image.png'))).data;
  });
  afterAll(async () => ckpt?.close?.());

  it('pixel values match the HF processor', () => {
    if (golden.pixel_values_sum === undefined) return; // open-llava15-deep did not record them
    const sum = pixels.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - golden.pixel_values_sum) / Math.abs(golden.pixel_values_sum)).toBeLessThan(1e-5);
  });

  it('fp32 reproduces transformers: logits within 1e-4, same 16 greedy tokens', async () => {
    const result = await runPackage(ckpt, 'fp32', golden, pixels, 16);
    const top10 = maxTop10Error(golden, result.firstLogits);
    const all = golden.first_step_logits ? maxAbsDiff(result.firstLogits, golden.first_step_logits) : undefined;
    console.log(
      `${name} fp32: max |Δlogit| top-10 ${top10.toExponential(2)}, all vocab ${all?.toExponential(2) ?? 'not recorded'}`,
    );
    expect(top10).toBeLessThan(LOGIT_TOL);
    if (all !== undefined) expect(all).toBeLessThan(LOGIT_TOL);
    expect(result.tokens).toEqual(golden.greedy16);
  });

  if (ON_GRID.has(name)) {
    it('every quantised weight is on the int4 grid: quantise → dequantise is bit-exact', async () => {
      const names = ckpt.names().filter((n) => QUANTISED.test(n) && ckpt.info(n)?.shape.length === 2);
      // 49 / 43: every nn.Linear make_fixtures snapped; a tied lm_head IS text.embed_tokens (checked below)
      const tied = ckpt.config.text.tieWordEmbeddings;
      expect(names.length + (tied ? 1 : 0)).toBe(golden.int4_grid?.weights.length);
      if (tied) names.push('text.embed_tokens.weight');
      for (const n of names) {
        const w = await ckpt.read(n);
        const [rows, cols] = ckpt.info(n)!.shape;
        for (const half of [false, true]) {
          const back = dequantizeInt4(quantizeInt4(w, rows, cols, half));
          expect(maxAbsDiff(back, w), `${n} half=${half}`).toBe(0);
        }
      }
    });

    it('q4 reproduces transformers: all logits within 1e-4, same 16 greedy tokens', async () => {
      const q4 = await runPackage(ckpt, 'q4', golden, pixels, 16);
      const err = maxAbsDiff(q4.firstLogits, golden.first_step_logits!);
      console.log(`${name} q4: max |Δlogit| (all vocab) ${err.toExponential(2)}`);
      expect(err).toBeLessThan(LOGIT_TOL);
      expect(q4.tokens).toEqual(golden.greedy16);
    });

    it('q4f16 reproduces transformers up to fp16 activations: same 16 greedy tokens', async () => {
      const q4f16 = await runPackage(ckpt, 'q4f16', golden, pixels, 16);
      const err = maxAbsDiff(q4f16.firstLogits, golden.first_step_logits!);
      console.log(`${name} q4f16: max |Δlogit| (all vocab) ${err.toExponential(2)}`);
      expect(err).toBeLessThan(FP16_LOGIT_TOL_BY_FIXTURE[name] ?? FP16_LOGIT_TOL);
      expect(q4f16.tokens).toEqual(golden.greedy16);
    });
  } else {
    it('q4 equals fp32 on the dequantised weights (exact int4 path)', async () => {
      const q4 = await runPackage(ckpt, 'q4', golden, pixels, 16);
      const dequantised = withLinearWeights(ckpt, (w, n, k) => dequantizeInt4(quantizeInt4(w, n, k)));
      const reference = await runPackage(dequantised, 'fp32', golden, pixels, 16);
      expect(maxAbsDiff(q4.firstLogits, reference.firstLogits)).toBeLessThan(LOGIT_TOL);
      expect(q4.tokens).toEqual(reference.tokens);
    });

    it('q4 stays within the logit error its quantisation noise predicts', async () => {
      const q4 = await runPackage(ckpt, 'q4', golden, pixels, 1);
      const q4Error = maxTop10Error(golden, q4.firstLogits);
      const noiseErrors: number[] = [];
      for (const seed of [1, 2, 3]) {
        const noisy = await runPackage(withLinearWeights(ckpt, noisyWeights(seed)), 'fp32', golden, pixels, 1);
        noiseErrors.push(maxTop10Error(golden, noisy.firstLogits));
      }
      console.log(
        `${name} q4: max |Δlogit| top-10 ${q4Error.toFixed(3)}; same-size noise ${noiseErrors.map((e) => e.toFixed(3)).join(', ')}`,
      );
      expect(q4Error).toBeLessThan(1.5 * Math.max(...noiseErrors));
    });
  }
});
