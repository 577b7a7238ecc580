/**
 * Image work once per image (issue 15): the engine keeps each image's vision embeddings (keyed
 * by its content) across requests of the loaded model, so compare mode, asking again and a
 * frame repeated in one request run vision.onnx once per image — with the same answer as a
 * fresh run. Counted by `Engine.visionRuns` (vision.onnx runs). WebGPU (Dawn), the 112 px
 * Qwen2 + SigLIP fixture (64 tokens a frame), 2 tokens a request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult, RequestImage } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader } from './fixturePackage.testutil';

const NAME = 'qwen2-siglip-112';
const frame = (i: number): RequestImage => {
  const file = `frame-${String(i).padStart(2, '0')}.png`;
  return { bytes: new Uint8Array(readFileSync(join(FIXTURES, 'multi', 'frames', file))), name: file };
};

describe('vision embeddings cached per image (WebGPU, Dawn)', () => {
  let engine: Engine;
  let files: Map<string, Uint8Array>;
  beforeAll(async () => {
    engine = await dawnEngine();
    files = await fixturePackage(NAME);
    await engine.load(memoryReader(files, NAME));
  }, 300_000);
  afterAll(async () => engine?.dispose());

  const ask = (images: RequestImage[]): Promise<GenerateResult> =>
    engine.generate({
      images,
      question: 'describe the scene in detail',
      settings: { method: 'none' },
      options: { maxNewTokens: 2, temperature: 0, topP: 1, seed: 0 },
    });
  /** vision.onnx runs during `f`. */
  const runs = async (f: () => Promise<GenerateResult>): Promise<[number, GenerateResult]> => {
    const before = engine.visionRuns;
    const r = await f();
    return [engine.visionRuns - before, r];
  };

  it('runs the tower once per image content, answers as a fresh run, forgets with the model', async () => {
    const [first, fresh] = await runs(() => ask([frame(0), frame(3)]));
    expect(first).toBe(2);
    const [again, cached] = await runs(() =>
      ask([frame(0), frame(3)].map((im) => ({ ...im, bytes: im.bytes.slice() }))),
    );
    expect(again).toBe(0); // same content in new buffers
    expect(cached.tokenIds).toEqual(fresh.tokenIds);
    expect(Array.from(cached.firstStepLogits)).toEqual(Array.from(fresh.firstStepLogits));
    const [oneNew] = await runs(() => ask([frame(3), frame(6)]));
    expect(oneNew).toBe(1);
    const [repeated, twice] = await runs(() => ask([frame(9), frame(9)]));
    expect(repeated).toBe(1);
    expect(twice.trace.images?.length).toBe(2);
    // reuseVision: false (the benchmarks) runs the tower for cached content too, and leaves the cache as it was.
    const [measured, uncached] = await runs(() =>
      engine.generate({
        images: [frame(0), frame(3)],
        question: 'describe the scene in detail',
        settings: { method: 'none' },
        options: { maxNewTokens: 2, temperature: 0, topP: 1, seed: 0, reuseVision: false },
      }),
    );
    expect(measured).toBe(2);
    expect(uncached.tokenIds).toEqual(fresh.tokenIds);
    expect((await runs(() => ask([frame(0), frame(3)])))[0]).toBe(0);
    await engine.load(memoryReader(files, NAME)); // a model load empties the cache
    const [afterLoad, reloaded] = await runs(() => ask([frame(0), frame(3)]));
    expect(afterLoad).toBe(2);
    expect(reloaded.tokenIds).toEqual(fresh.tokenIds);
  }, 600_000);
});
