/**
 * Video-LLaVA (issue 15): the converted `videollava-clip-112` fixture (a tiny
 * VideoLlavaForConditionalGeneration, fixtures/make_videollava.py) against its transformers
 * goldens, on the wasm engine and on WebGPU (Dawn), unpruned:
 * - 8 frames of `multi/frames.gif` sampled uniformly (indices 0,3,6,9,13,16,19,23): ONE `<video>`
 *   in the user turn, expanded to 8 × 65 tokens, the frames through the VIDEO tower with every
 *   token kept (CLS included) — `golden-multi.json`;
 * - two images (`frame-00.png`, `frame-12.png`): `<image>` twice, 64 tokens each through the
 *   IMAGE tower (strategy "default" drops CLS) — `golden-multi-images.json`.
 * Same prompt ids, first-step logits within 1e-4 over the vocabulary (fp32), same 16 greedy tokens.
 *
 * Then pruning over the 520 video tokens, WebGPU = wasm (kept sets, merges, recycled sets,
 * visual counts per layer, raters, tokens), as prunedParityMulti.test.ts does: the reference's
 * video setting (sparsevlm-v1 --schedule video: one stage after layer 0 of 4, keep rank(P),
 * recycling) and SparseVLM v1.5 at "64" (its tables scaled to the span).
 *
 * And a follow-up question about the video on the kept caches = a fresh request with the whole
 * conversation (wasm, unpruned).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult, RequestImage } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader, wasmEngineBeside } from './fixturePackage.testutil';
import { goldenImages, type MultiGolden } from './goldenMulti.testutil';
import { readVideoFrames } from './nodeFrames';
import type { StageTrace } from '../common/trace';

const NAME = 'videollava-clip-112';
const LOGIT_TOL = 1e-4;
const golden = (file: string) =>
  JSON.parse(readFileSync(join(FIXTURES, NAME, file), 'utf8')) as MultiGolden & { video_token_id?: number };
const VIDEO = golden('golden-multi.json');
const IMAGES = golden('golden-multi-images.json');

const maxLogitError = (g: MultiGolden, logits: Float32Array) =>
  g.first_step_logits.reduce((w, v, i) => Math.max(w, Math.abs(logits[i] - v)), 0);
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

let gpu: Engine;
let cpu: Engine;
let frames: RequestImage[];

// Dawn first: onnxruntime is initialised once per process, and the wasm engine is made from its runtime.
beforeAll(async () => {
  gpu = await dawnEngine();
  cpu = await wasmEngineBeside(gpu, 'the test asks for wasm');
  const files = await fixturePackage(NAME);
  expect(files.has('video_vision.onnx'), 'the converter wrote the video tower').toBe(true);
  await gpu.load(memoryReader(files, NAME));
  await cpu.load(memoryReader(files, NAME));
  expect(gpu.door).not.toBeNull();
  expect(cpu.door).toBeNull();
  // The model card's count for a frame: the video tower's CLS + grid, apart from an image's.
  expect(gpu.info?.video).toEqual({ tokensPerFrame: gpu.model!.manifest.video!.tokensPerFrame });
  expect(gpu.info!.video!.tokensPerFrame).toBe(gpu.info!.visualTokens + 1);
  const gif = await readVideoFrames(join(FIXTURES, 'multi', 'frames.gif'), 8);
  expect(gif.total).toBe(VIDEO.frames_source);
  expect(gif.images.map((im) => im.frame!.index)).toEqual(VIDEO.frame_indices);
  frames = gif.images;
}, 300_000);
afterAll(async () => {
  await gpu?.dispose();
  await cpu?.dispose();
});

const run = (e: Engine, images: RequestImage[], question: string, method = 'none', budget?: number, params = {}) =>
  e.generate({
    images,
    question,
    settings: { method, budget, params },
    options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
  });

describe.each(['wasm', 'webgpu'] as const)('Video-LLaVA against transformers on %s', (backend) => {
  const engine = () => (backend === 'wasm' ? cpu : gpu);

  it('8 frames as one <video> through the video tower: same ids, logits within 1e-4, same 16 tokens', async () => {
    const r = await run(engine(), frames, VIDEO.question);
    const err = maxLogitError(VIDEO, r.firstStepLogits);
    console.log(`${NAME} ${backend} 8 frames: max |Δlogit| ${err.toExponential(2)} over the vocabulary`);
    expect(r.inputIds).toEqual(VIDEO.input_ids);
    expect(r.tokenIds).toEqual(VIDEO.greedy16);
    expect(err).toBeLessThan(LOGIT_TOL);
    // Each frame's 65 tokens (CLS first) at its place in the one visual block.
    expect(r.trace.images?.map((im) => [im.origin, im.patches])).toEqual(
      VIDEO.image_starts.map((s) => [s - VIDEO.image_starts[0], VIDEO.tokens_per_image]),
    );
    expect(r.trace.images?.map((im) => im.frame)).toEqual(VIDEO.frame_indices!.map((index) => ({ index, of: 24 })));
  }, 300_000);

  it('two images through the image tower: same ids, logits within 1e-4, same 16 tokens', async () => {
    const r = await run(engine(), goldenImages(NAME, IMAGES), IMAGES.question);
    const err = maxLogitError(IMAGES, r.firstStepLogits);
    console.log(`${NAME} ${backend} two images: max |Δlogit| ${err.toExponential(2)} over the vocabulary`);
    expect(r.inputIds).toEqual(IMAGES.input_ids);
    expect(r.tokenIds).toEqual(IMAGES.greedy16);
    expect(err).toBeLessThan(LOGIT_TOL);
    expect(r.trace.layout.visualCount).toBe(IMAGES.image_starts[1] - IMAGES.image_starts[0] + IMAGES.tokens_per_image);
  }, 300_000);
});

describe('a follow-up about the video (wasm)', () => {
  it('on the kept caches = a fresh request with the whole conversation (unpruned): same ids, logits, 16 tokens', async () => {
    const options = { maxNewTokens: 8, temperature: 0, topP: 1, seed: 0 };
    const settings = { method: 'none' };
    const t1 = await cpu.generate({
      images: frames,
      question: VIDEO.question,
      settings,
      options,
      keepConversation: true,
    });
    const q2 = 'what is in the picture?';
    const more = { ...options, maxNewTokens: 16 };
    const t2 = await cpu.generate({ conversation: t1.conversation!.id, question: q2, settings, options: more });
    const history = [{ question: VIDEO.question, answer: t1.text }];
    const fresh = await cpu.generate({ images: frames, history, question: q2, settings, options: more });
    const diff = t2.firstStepLogits.reduce((w, v, i) => Math.max(w, Math.abs(v - fresh.firstStepLogits[i])), 0);
    console.log(`${NAME} follow-up: ${JSON.stringify(t2.trace.followUp)}; max |Δlogit| ${diff.toExponential(2)}`);
    expect(t1.tokenIds).toEqual(VIDEO.greedy16.slice(0, 8));
    expect(t2.trace.followUp).toMatchObject({ turn: 2, mode: 'reuse-cache', cache: 'reused' });
    // The kept rows cover the whole video (the caches are cut back only after it).
    expect((t2.trace.followUp as { reusedTokens: number }).reusedTokens).toBeGreaterThanOrEqual(2 + 8 * 65);
    expect(fresh.trace.followUp).toMatchObject({ cache: 'prefilled' });
    expect(t2.inputIds).toEqual(fresh.inputIds);
    expect(t2.inputIds.filter((id) => id === VIDEO.video_token_id).length).toBe(8 * 65);
    expect(diff).toBeLessThan(1e-4);
    expect(t2.tokenIds).toEqual(fresh.tokenIds);
  }, 300_000);
});

function expectSameDecisions(g: StageTrace[], c: StageTrace[]): void {
  expect(g.map((s) => [s.layer, s.visualIn, s.visualOut, s.rank])).toEqual(
    c.map((s) => [s.layer, s.visualIn, s.visualOut, s.rank]),
  );
  g.forEach((s, i) => {
    expect(s.kept, `stage ${i}: kept`).toEqual(c[i].kept);
    expect(sorted(s.recycled), `stage ${i}: recycled set`).toEqual(sorted(c[i].recycled));
    expect(
      s.merges.map((m) => [m.id, sorted(m.members)]),
      `stage ${i}: merges`,
    ).toEqual(c[i].merges.map((m) => [m.id, sorted(m.members)]));
  });
}

describe.each([
  ['sparsevlm-v1', 64, { schedule: 'video' }],
  ['sparsevlm', 64, {}],
] as const)('pruning the 8-frame video with %s %i %o: WebGPU engine = wasm engine', (method, budget, params) => {
  it('same stages, kept sets, merges, visual counts and 16 greedy tokens', async () => {
    const g: GenerateResult = await run(gpu, frames, VIDEO.question, method, budget, params);
    const c: GenerateResult = await run(cpu, frames, VIDEO.question, method, budget, params);
    const stages = g.trace.stages;
    console.log(
      `${NAME} ${method} ${budget} ${JSON.stringify(params)}: ${stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut} (rank ${s.rank ?? '-'}, ${s.merges.length} merged)`).join('; ')}; visual per layer ${g.trace.visualPerLayer.join('/')}; tokens ${g.tokenIds.join(',')}`,
    );
    expect(g.inputIds).toEqual(VIDEO.input_ids);
    expect(g.trace.visualPerLayer[0]).toBe(8 * VIDEO.tokens_per_image);
    expect(stages.length, 'the method pruned').toBeGreaterThan(0);
    expect(
      stages.some((s) => s.merges.length > 0),
      'recycling merged something',
    ).toBe(true);
    expectSameDecisions(stages, c.trace.stages);
    expect(g.trace.visualPerLayer).toEqual(c.trace.visualPerLayer);
    expect(g.trace.raters?.raters).toEqual(c.trace.raters?.raters);
    expect(g.tokenIds).toEqual(c.tokenIds);
    expect(g.tokenIds.length).toBe(16);
  }, 600_000);
});
