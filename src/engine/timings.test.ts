/**
 * Per-phase timings through the engine on WebGPU (Dawn, llama-clip-gqa, 4 layers), both clocks:
 * - 'gpu-timestamp' (ORT's device has timestamp-query here) and 'wall' (forced): every phase
 *   time present and positive, and vision + embed + Σ layers + method + head ≤ prefill wall time;
 * - method 'none' does nothing between prefill layers but the clock and the move of each layer's
 *   KV into captured decode's fixed cache (one `CapturedDecoder.load` per layer, counted apart):
 *   no buffer, no upload, no pool acquire (GPU clock: one mark submit per layer and no queue
 *   wait; wall: one wait per layer, no submit) — counted outside ORT's own runs and the loads;
 * - the answer is the same under both clocks (no per-layer sync needed for correctness), and a
 *   pruning method's hooks show up in methodMs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult } from './engine';
import { FIXTURES, dawnEngine } from './fixturePackage.testutil';
import type { MethodSettings } from './protocol';

const NAME = 'llama-clip-gqa';
const golden = JSON.parse(readFileSync(join(FIXTURES, NAME, 'golden.json'), 'utf8')) as { question: string };
const image = new Uint8Array(readFileSync(join(FIXTURES, NAME, 'image.png')));

let engine: Engine;
type Counts = { createBuffer: number; writeBuffer: number; submit: number; wait: number; poolAcquire: number };
const zero = (): Counts => ({ createBuffer: 0, writeBuffer: 0, submit: 0, wait: 0, poolAcquire: 0 });
/** `CapturedDecoder.load` calls during prefill (their own GPU work is not counted in `counts`). */
let loads = 0;
let counts = zero();
/** Between the start of prefill layer 0 and the head; outside ORT's session runs. */
let betweenLayers = false;
let inRun = false;

beforeAll(async () => {
  engine = await dawnEngine(NAME);
  // Observe, not replace: the originals still do the work.
  const G = globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> }>;
  const watch = (target: Record<string, (...a: unknown[]) => unknown>, name: string, key: keyof Counts) => {
    const original = target[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (betweenLayers && !inRun) counts[key]++;
      return original.apply(this, args);
    };
  };
  watch(G.GPUDevice.prototype, 'createBuffer', 'createBuffer');
  watch(G.GPUQueue.prototype, 'writeBuffer', 'writeBuffer');
  watch(G.GPUQueue.prototype, 'submit', 'submit');
  watch(G.GPUQueue.prototype, 'onSubmittedWorkDone', 'wait');
  watch(engine.door!.pool as unknown as Record<string, (...a: unknown[]) => unknown>, 'acquire', 'poolAcquire');
  const s = engine.model!.sessions;
  for (const [l, layer] of s.layers.entries()) {
    const run = layer.run.bind(layer);
    layer.run = (async (feeds: Record<string, { dims: readonly number[] }>, ...rest: unknown[]) => {
      if (l === 0 && feeds.hidden.dims[1] > 1) betweenLayers = true;
      inRun = true;
      try {
        return await (run as (...a: unknown[]) => Promise<unknown>)(feeds, ...rest);
      } finally {
        inRun = false;
      }
    }) as unknown as typeof layer.run;
  }
  const decoder = engine.model!.decoder!;
  const load = decoder.load.bind(decoder);
  decoder.load = async (...args: Parameters<typeof load>) => {
    if (betweenLayers) loads++;
    inRun = true;
    try {
      return await load(...args);
    } finally {
      inRun = false;
    }
  };
  const head = s.head.run.bind(s.head);
  s.head.run = ((...args: Parameters<typeof head>) => {
    betweenLayers = false;
    return head(...args);
  }) as typeof head;
}, 180_000);
afterAll(async () => engine?.dispose());

async function request(
  settings: MethodSettings,
  clock: 'auto' | 'wall',
): Promise<{ r: GenerateResult; counts: Counts }> {
  engine.clockPreference = clock;
  counts = zero();
  loads = 0;
  const r = await engine.generate({
    image: { bytes: image, name: 'image.png' },
    question: golden.question,
    settings,
    options: { maxNewTokens: 3, temperature: 0, topP: 1, seed: 0 },
  });
  // Every layer's KV went into its fixed cache during prefill, once.
  expect(loads).toBe(engine.model!.manifest.text.numLayers);
  return { r, counts: { ...counts } };
}

function checkPhases(r: GenerateResult, label: string) {
  const t = r.trace.timings;
  const layers = engine.model!.manifest.text.numLayers;
  const sum = t.visionMs + t.embedMs + t.layerMs.reduce((a, b) => a + b, 0) + t.methodMs + t.headMs;
  console.log(
    `${label}: clock ${t.clock}; prefill ${t.prefillMs.toFixed(0)} ms wall ⊇ phases ${sum.toFixed(0)} = vision ${t.visionMs.toFixed(1)} + embed ${t.embedMs.toFixed(2)} + layers ${t.layerMs.map((x) => x.toFixed(1)).join('/')} + method ${t.methodMs.toFixed(2)} + head ${t.headMs.toFixed(1)}`,
  );
  expect(t.layerMs.length).toBe(layers);
  for (const [name, v] of Object.entries({
    vision: t.visionMs,
    head: t.headMs,
    ...Object.fromEntries(t.layerMs.map((x, i) => [`layer ${i}`, x])),
  })) {
    expect(v, `${label} ${name}`).toBeGreaterThan(0);
    expect(Number.isFinite(v), `${label} ${name}`).toBe(true);
  }
  expect(t.embedMs).toBeGreaterThanOrEqual(0);
  expect(t.methodMs).toBeGreaterThanOrEqual(0);
  // Phases are contiguous spans inside the prefill (GPU and CPU clocks may differ by a little).
  expect(sum).toBeLessThanOrEqual(t.prefillMs * 1.01 + 1);
  expect(sum).toBeGreaterThan(t.prefillMs * 0.5);
  expect(t.decodeStepMs.length).toBe(r.tokenIds.length - 1);
}

describe(`phase timings through the engine (WebGPU, ${NAME})`, () => {
  let gpuNone: GenerateResult;
  it("GPU clock, 'none': phases positive and within the prefill; no GPU work between layers but the marks", async () => {
    const { r, counts: c } = await request({ method: 'none' }, 'auto');
    gpuNone = r;
    console.log(`none, GPU clock, between layers: ${JSON.stringify(c)}`);
    expect(r.trace.timings.clock).toBe('gpu-timestamp');
    checkPhases(r, 'none/gpu');
    const layers = engine.model!.manifest.text.numLayers;
    // Nothing but the marks: the position ids are uploaded once before layer 0 (counting starts
    // inside layer 0's run) and every later layer of the unpruned sequence reuses them (prefill.ts;
    // they changed only where a plan applies).
    expect(c).toEqual({ createBuffer: 0, writeBuffer: 0, submit: layers, wait: 0, poolAcquire: 0 });
  }, 600_000);

  it("wall clock (forced), 'none': same answer; one queue wait per layer, nothing else", async () => {
    const { r, counts: c } = await request({ method: 'none' }, 'wall');
    console.log(`none, wall clock, between layers: ${JSON.stringify(c)}`);
    expect(r.trace.timings.clock).toBe('wall');
    checkPhases(r, 'none/wall');
    expect(r.tokenIds).toEqual(gpuNone.tokenIds);
    expect(Array.from(r.firstStepLogits)).toEqual(Array.from(gpuNone.firstStepLogits));
    const layers = engine.model!.manifest.text.numLayers;
    expect(c).toEqual({ createBuffer: 0, writeBuffer: 0, submit: 0, wait: layers, poolAcquire: 0 });
  }, 600_000);

  it("GPU clock, 'sparsevlm' 64: the hooks' time is in methodMs", async () => {
    const { r } = await request({ method: 'sparsevlm', budget: 64 }, 'auto');
    expect(r.trace.timings.clock).toBe('gpu-timestamp');
    expect(r.trace.stages.length).toBeGreaterThan(0);
    checkPhases(r, 'sparsevlm64/gpu');
    expect(r.trace.timings.methodMs).toBeGreaterThan(0);
  }, 600_000);
});
