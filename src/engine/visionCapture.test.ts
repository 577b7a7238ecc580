/**
 * vision.onnx through a captured session (visionCapture.ts) against a plain session of the same
 * graph on Dawn: the same visual embeddings bit for bit for a sequence of different pixel
 * inputs (a replay must read the new pixels), results kept across later runs (the next image
 * must not overwrite one the caller holds), and the loader choosing it only when asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine';
import { parseManifest, type Manifest } from '../package/manifest';
import { sessionOptions, type OrtSession, type OrtTensor } from './ortEnv';
import { CapturedVision, visionCaptureRefusal } from './visionCapture';
import { dawnEngine, fixturePackage, memoryReader } from './fixturePackage.testutil';

const NAME = 'llama-clip-gqa-112'; // 112² pixels: vision runs are slow on SwiftShader

/** Deterministic pseudo-random pixels in [-2, 2] (a different image per seed). */
function pixels(seed: number, S: number): Float32Array {
  const out = new Float32Array(3 * S * S);
  let x = seed * 2654435761;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x / 2 ** 32) * 4 - 2;
  }
  return out;
}

describe(`vision through graph capture on WebGPU (${NAME}, q4)`, () => {
  let engine: Engine;
  let manifest: Manifest;
  let captured: CapturedVision;
  let plain: OrtSession;
  beforeAll(async () => {
    engine = await dawnEngine();
    const files = await fixturePackage(NAME, 'q4');
    manifest = parseManifest(new TextDecoder().decode(files.get('manifest.json')!));
    const model = files.get(manifest.graphs.vision)!;
    const rt = engine.rt;
    plain = await rt.ort.InferenceSession.create(model, sessionOptions(rt, ['visual_embeds']));
    const made = await CapturedVision.create(rt, model, [], {
      imageSize: manifest.vision.imageSize,
      visualTokens: manifest.vision.visualTokens,
      hiddenSize: manifest.text.hiddenSize,
      act: 'float32',
    });
    if (!(made instanceof CapturedVision)) throw new Error(made.unavailable);
    captured = made;
  }, 300_000);
  afterAll(async () => {
    await captured?.release();
    await plain?.release();
    await engine?.dispose();
  });

  it('gives the plain session’s embeddings for each of a sequence of images, results kept', async () => {
    const { Tensor } = engine.rt.ort;
    const S = manifest.vision.imageSize;
    const kept: OrtTensor[] = [];
    const plainOf = new Map<number, number[]>();
    // onnxruntime captures on its third run (two regular runs first): seed 3 is the capture
    // run, seed 1 after it a pure replay with pixels other than the captured ones.
    for (const seed of [1, 2, 3, 1]) {
      const feeds = { pixel_values: new Tensor('float32', pixels(seed, S), [1, 3, S, S]) };
      const got = (await captured.run(feeds)).visual_embeds;
      expect(got.location).toBe('gpu-buffer');
      if (!plainOf.has(seed)) {
        const want = (await plain.run(feeds)).visual_embeds as OrtTensor;
        expect(got.dims).toEqual(want.dims);
        plainOf.set(seed, Array.from((await want.getData()) as Float32Array));
        want.dispose();
      }
      expect(Array.from((await got.getData()) as Float32Array), `seed ${seed}`).toEqual(plainOf.get(seed));
      kept.push(got);
    }
    expect(captured.runs).toBe(4);
    expect(plainOf.get(1)).not.toEqual(plainOf.get(2)); // different images differ: not vacuous
    // The first result, kept through three later runs, still holds its own image's embeddings.
    expect(Array.from((await kept[0].getData()) as Float32Array)).toEqual(plainOf.get(1));
    for (const k of kept) k.dispose();
  }, 600_000);

  it('refuses pixels of another size with a message naming both shapes', async () => {
    const { Tensor } = engine.rt.ort;
    const feeds = { pixel_values: new Tensor('float32', new Float32Array(3 * 8 * 8), [1, 3, 8, 8]) };
    const S = manifest.vision.imageSize;
    await expect(captured.run(feeds)).rejects.toThrow(`[1,3,${S},${S}], got float32 [1,3,8,8]`);
  });

  it('the loader captures vision only when the tuning asks for it', async () => {
    const { Engine } = await import('./engine');
    const files = await fixturePackage(NAME, 'q4');
    const withCapture = Engine.withRuntime({ ...engine.rt, tuning: { ...engine.rt.tuning, visionCapture: true } });
    try {
      await withCapture.load(memoryReader(files, NAME));
      expect(withCapture.model!.visionCaptureUnavailable).toBeNull();
      expect(withCapture.model!.sessions.vision).toBeInstanceOf(CapturedVision);
    } finally {
      await withCapture.dispose();
    }
    expect(engine.rt.tuning.visionCapture).toBe(false); // the default on this (software) adapter
  }, 300_000);

  it('an fp32 package keeps the plain session, and says why, when the tuning asks for capture', async () => {
    const { Engine } = await import('./engine');
    const files = await fixturePackage(NAME, 'fp32');
    const withCapture = Engine.withRuntime({ ...engine.rt, tuning: { ...engine.rt.tuning, visionCapture: true } });
    try {
      await withCapture.load(memoryReader(files, NAME));
      expect(withCapture.model!.visionCaptureUnavailable).toBe(visionCaptureRefusal('fp32'));
      expect(withCapture.model!.sessions.vision).not.toBeInstanceOf(CapturedVision);
    } finally {
      await withCapture.dispose();
    }
  }, 300_000);

  // The fault behind visionCaptureRefusal: when this fails, onnxruntime captures a plain-MatMul
  // tower correctly and the refusal can go (with this test turned into the bit-equality one above).
  it('onnxruntime still replays the first image for a captured fp32 tower (why fp32/fp16 are refused)', async () => {
    const { Tensor } = engine.rt.ort;
    const files = await fixturePackage(NAME, 'fp32');
    const m = parseManifest(new TextDecoder().decode(files.get('manifest.json')!));
    const made = await CapturedVision.create(engine.rt, files.get(m.graphs.vision)!, [], {
      imageSize: m.vision.imageSize,
      visualTokens: m.vision.visualTokens,
      hiddenSize: m.text.hiddenSize,
      act: 'float32',
    });
    if (!(made instanceof CapturedVision)) throw new Error(made.unavailable);
    const plain32 = await engine.rt.ort.InferenceSession.create(
      files.get(m.graphs.vision)!,
      sessionOptions(engine.rt, ['visual_embeds']),
    );
    try {
      const S = m.vision.imageSize;
      const run = async (s: OrtSession | CapturedVision, seed: number) => {
        const t = (await s.run({ pixel_values: new Tensor('float32', pixels(seed, S), [1, 3, S, S]) })).visual_embeds;
        const data = Array.from((await t.getData()) as Float32Array);
        t.dispose();
        return data;
      };
      const first = await run(made, 1);
      expect(first).toEqual(await run(plain32, 1));
      const second = await run(made, 2);
      expect(await run(plain32, 2)).not.toEqual(first); // the second image's embeddings differ ...
      expect(second).toEqual(first); // ... but the captured session gives the first's again
    } finally {
      await made.release();
      await plain32.release();
    }
  }, 300_000);
});
