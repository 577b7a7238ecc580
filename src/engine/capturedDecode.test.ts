/**
 * Decode through captured graphs (capturedDecode.ts, `rt.graphCapture`) against the plain
 * path on Dawn: the same greedy tokens with SparseVLM's per-layer caches of different lengths
 * (short pruned caches are where a stale key/value shows: the bug of 2026-12-02, graphRewrite.ts
 * item 3), with a layer cache that fills up mid-request (a new capture session, rows copied), and
 * the captured path actually taken (decode sessions made once, then only replayed). Unpruned
 * captured decode is checked against the HF goldens by golden.test.ts (capture is the default
 * on WebGPU, so the golden, pruned-parity and lifecycle tests run captured).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateRequest } from './engine';
import { dawnEngine, FIXTURES, fixturePackage, memoryReader } from './fixturePackage.testutil';
import { LiftedLayer, causalBias } from './liftedLayer';

const NAME = 'llama-clip-gqa';
const golden = JSON.parse(readFileSync(join(FIXTURES, NAME, 'golden.json'), 'utf8')) as {
  question: string;
  greedy16: number[];
};
const image = new Uint8Array(readFileSync(join(FIXTURES, NAME, 'image.png')));
const request = (method: string, budget?: number, maxNewTokens = 10): GenerateRequest => ({
  image: { bytes: image, name: 'image.png' },
  question: golden.question,
  settings: { method, ...(budget ? { budget } : {}) },
  options: { maxNewTokens, temperature: 0, topP: 1, seed: 0 },
});

describe('causal bias (the mask the rewritten layer graph reads)', () => {
  it('query i after P cached keys sees keys 0..P+i', () => {
    const b = causalBias(2, 3); // [2, 5]
    expect(Array.from(b)).toEqual([0, 0, 0, 0, -Infinity, 0, 0, 0, 0, 0]);
    expect(Array.from(causalBias(1, 0))).toEqual([0]);
  });
});

describe(`captured decode on WebGPU (${NAME})`, () => {
  let captured: Engine;
  let plain: Engine;
  beforeAll(async () => {
    const base = await dawnEngine();
    captured = (await import('./engine')).Engine.withRuntime({ ...base.rt, graphCapture: true });
    plain = (await import('./engine')).Engine.withRuntime({ ...base.rt, graphCapture: false });
    const files = await fixturePackage(NAME);
    await captured.load(memoryReader(files, NAME));
    await plain.load(memoryReader(files, NAME));
  }, 300_000);
  afterAll(async () => {
    await captured?.dispose();
    await plain?.dispose();
  });

  it('loads lifted layers and a decoder only when capture is on', () => {
    expect(captured.model!.decoder?.ready).toBe(true);
    expect(captured.model!.captureUnavailable).toBeNull();
    expect(captured.model!.sessions.layers.every((l) => l instanceof LiftedLayer)).toBe(true);
    expect(plain.model!.decoder).toBeNull();
    expect(plain.model!.sessions.layers.some((l) => l instanceof LiftedLayer)).toBe(false);
  });

  it('uploads a weight equal in every layer (the rope tables) once, and every other weight per layer', () => {
    const layers = captured.model!.sessions.layers as LiftedLayer[];
    expect(layers.length).toBeGreaterThan(1);
    const [a, b] = [layers[0].weights, layers[1].weights];
    expect(Object.keys(a)).toEqual(expect.arrayContaining(['rope_cos', 'rope_sin']));
    for (const l of layers) expect([l.weights.rope_cos, l.weights.rope_sin]).toEqual([a.rope_cos, a.rope_sin]);
    const own = Object.keys(a).filter((k) => !k.startsWith('rope_'));
    expect(own.length).toBeGreaterThanOrEqual(4);
    const bTensors = new Set(Object.values(b));
    for (const k of own) expect(bTensors.has(a[k])).toBe(false);
    // One buffer for all: a freed layer leaves the others' tables in place (the shared buffer is
    // freed with the last layer; plain-path tokens below are compared after this).
    expect(captured.model!.gpuBuffers!.exact).toBe(true);
  });

  it('same tokens as the plain path with sparsevlm 64 (per-layer lengths), and the layers replayed: no bind groups made per step', async () => {
    // (Unpruned, captured decode gives the golden's tokens: golden.test.ts runs with capture on.)
    const dec = captured.model!.decoder!;
    const proto = (globalThis as unknown as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
    const createBindGroup = proto.createBindGroup;
    let bindGroups = 0;
    const perStep: number[] = [];
    proto.createBindGroup = function (this: GPUDevice, d: GPUBindGroupDescriptor) {
      bindGroups++;
      return createBindGroup.call(this, d);
    };
    let got;
    try {
      got = await captured.generate({
        ...request('sparsevlm', 64),
        onToken: () => {
          perStep.push(bindGroups);
          bindGroups = 0;
        },
      });
    } finally {
      proto.createBindGroup = createBindGroup;
    }
    const want = await plain.generate(request('sparsevlm', 64));
    expect(got.tokenIds).toEqual(want.tokenIds);
    expect(got.trace.visualPerLayer).toEqual(want.trace.visualPerLayer);
    // Every layer in one decode session (the default): one session, made once.
    expect(dec.layersPerSession).toBe(captured.model!.sessions.layers.length);
    expect(dec.counts.sessions).toBe(1);
    expect(dec.counts.steps).toBe(9);
    const layers = captured.model!.sessions.layers.length;
    // A plain layer run makes ~27 bind groups; a replay none. Left per step: embed, head, argmax.
    console.log(`bind groups per decode step: ${perStep.slice(1).join(' ')}`);
    for (const n of perStep.slice(3)) expect(n).toBeLessThan(layers * 2);
  }, 900_000);

  it('a cache that fills up mid-request grows (new capture session, rows kept), one session per layer: same tokens', async () => {
    // Fresh caches exactly one row larger than the prefill: every layer grows at the second step.
    // One decode session per layer here (the other end of layersPerSession from the test above).
    const dec = captured.model!.decoder!;
    await dec.dropCaches();
    dec.layersPerSession = 1;
    dec.capacity = { headroom: 1, step: 1, sizeForAnswer: false };
    const before = dec.counts.sessions;
    const got = await captured.generate(request('none', undefined, 6));
    // The plain path gives the golden's tokens here (golden.test.ts).
    expect(got.tokenIds).toEqual(golden.greedy16.slice(0, 6));
    const layers = captured.model!.sessions.layers.length;
    expect(dec.counts.sessions - before).toBe(2 * layers);
  }, 900_000);

  it("caches are sized for the request's answer at its start: no growth, no new session mid-answer", async () => {
    // The same tight headroom as above, but sized for the answer (the default): each cache holds
    // the prompt and the 6 answer tokens from the start, so nothing grows mid-answer; then a
    // request whose answer does not fit the kept caches makes them anew at its start.
    const dec = captured.model!.decoder!;
    await dec.dropCaches();
    dec.layersPerSession = 1;
    dec.capacity = { headroom: 1, step: 1 };
    const layers = captured.model!.sessions.layers.length;
    let before = dec.counts.sessions;
    const got = await captured.generate(request('none', undefined, 6));
    expect(got.tokenIds).toEqual(golden.greedy16.slice(0, 6));
    expect(dec.counts.sessions - before).toBe(layers);
    const prompt = got.inputIds.length;
    expect(dec.capacities).toEqual(new Array(layers).fill(prompt + 6));
    before = dec.counts.sessions;
    const longer = await captured.generate(request('none', undefined, 9));
    expect(longer.tokenIds).toEqual(golden.greedy16.slice(0, 9));
    expect(dec.capacities).toEqual(new Array(layers).fill(prompt + 9));
    expect(dec.counts.sessions - before).toBe(layers);
  }, 900_000);
});
