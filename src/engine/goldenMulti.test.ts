/**
 * Several images and video frames through the engine on WebGPU (Dawn, Node) against the
 * transformers goldens of fixtures/make_multi_goldens.py (`<fixture>/golden-multi.json`): the
 * same prompt ids (images first in the user turn, in order, each `<image>` expanded), first-step
 * logits within 1e-4 over the whole vocabulary (fp32), the same 16 greedy tokens, unpruned.
 *
 * - an 8-frame video on llama-clip-gqa-112 and qwen2-siglip-112 (64 tokens a frame): the 24
 *   frames of `multi/frames/` sampled uniformly by the engine's own sampler (frames.ts) and read
 *   by nodeFrames.ts from the folder; the same frames read from `multi/frames.gif` (an animated
 *   GIF of them, lossless) must decode to the same pixels;
 * - two images (`image.png`, then `multi/second.png`) on llama-clip-gqa and qwen2-siglip: 1167
 *   and 1177 tokens, ~4 min each on SwiftShader, so only with ENGINE_GOLDEN_MULTI_336=1
 *   (measured 2026-12-02: max |Δlogit| 1.07e-5 and 1.04e-5, same ids and 16 tokens).
 */
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, RequestImage } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader } from './fixturePackage.testutil';
import { goldenImages, multiGolden, type MultiGolden } from './goldenMulti.testutil';
import { readVideoFrames } from './nodeFrames';
import sharp from 'sharp';

const LOGIT_TOL = 1e-4;

const maxLogitError = (g: MultiGolden, logits: Float32Array) =>
  g.first_step_logits.reduce((w, v, i) => Math.max(w, Math.abs(logits[i] - v)), 0);

const TWO_IMAGES = process.env.ENGINE_GOLDEN_MULTI_336 ? ['llama-clip-gqa', 'qwen2-siglip'] : [];
const VIDEO = ['llama-clip-gqa-112', 'qwen2-siglip-112'];

describe('several images and video frames against transformers (WebGPU, Dawn)', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await dawnEngine();
  }, 120_000);
  afterAll(async () => engine?.dispose());

  const run = (images: RequestImage[], question: string) =>
    engine.generate({
      images,
      question,
      settings: { method: 'none' },
      options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
    });

  it.skipIf(TWO_IMAGES.length === 0).each(TWO_IMAGES)(
    '%s, two images: same ids, logits within 1e-4, same 16 greedy tokens',
    async (name) => {
      const g = multiGolden(name);
      await engine.load(memoryReader(await fixturePackage(name), name));
      const r = await run(goldenImages(name, g), g.question);
      const err = maxLogitError(g, r.firstStepLogits);
      console.log(`${name} two images: max |Δlogit| ${err.toExponential(2)} over the vocabulary`);
      expect(r.inputIds).toEqual(g.input_ids);
      expect(r.tokenIds).toEqual(g.greedy16);
      expect(err).toBeLessThan(LOGIT_TOL);
      // The trace places both images in the visual span: image k's patch 0 at its token's offset.
      expect(r.trace.images?.map((im) => im.origin)).toEqual(g.image_starts.map((s) => s - g.image_starts[0]));
      expect(r.trace.layout.visualCount).toBe(g.image_starts[1] - g.image_starts[0] + g.tokens_per_image);
    },
    900_000,
  );

  it.each(VIDEO)(
    '%s, 8 frames of 24: same ids, logits within 1e-4, same 16 greedy tokens',
    async (name) => {
      const g = multiGolden(name);
      await engine.load(memoryReader(await fixturePackage(name), name));
      const folder = await readVideoFrames(join(FIXTURES, 'multi', 'frames'), 8);
      expect(folder.total).toBe(g.frames_source);
      expect(folder.images.map((im) => im.frame!.index)).toEqual(g.frame_indices);
      expect(folder.images.map((im) => im.name)).toEqual(g.images.map((p) => basename(p)));
      const r = await run(folder.images, g.question);
      const err = maxLogitError(g, r.firstStepLogits);
      console.log(`${name} 8 frames: max |Δlogit| ${err.toExponential(2)} over the vocabulary`);
      expect(r.inputIds).toEqual(g.input_ids);
      expect(r.tokenIds).toEqual(g.greedy16);
      expect(err).toBeLessThan(LOGIT_TOL);
      expect(r.trace.images?.map((im) => im.frame)).toEqual(g.frame_indices!.map((index) => ({ index, of: 24 })));
    },
    300_000,
  );
});

describe('video from an animated GIF', () => {
  it("gives the folder's frames: same sampled indices, same pixels", async () => {
    const gif = await readVideoFrames(join(FIXTURES, 'multi', 'frames.gif'), 8);
    const folder = await readVideoFrames(join(FIXTURES, 'multi', 'frames'), 8);
    expect(gif.total).toBe(24);
    expect(gif.images.map((im) => im.frame)).toEqual(folder.images.map((im) => im.frame));
    const rgb = (bytes: Uint8Array) => sharp(bytes).removeAlpha().raw().toBuffer();
    for (const [i, im] of gif.images.entries()) {
      expect((await rgb(im.bytes)).equals(await rgb(folder.images[i].bytes)), `frame ${im.frame!.index}`).toBe(true);
    }
  });
});
