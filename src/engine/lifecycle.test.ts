/**
 * Issue 3 acceptance, engine lifecycle on WebGPU (Dawn) with llama-clip-gqa and `sparsevlm`
 * (budget 64, so the door's pool is used by the method's kernels every request):
 *   - cancelling through the AbortSignal mid-prefill (right after layer 1) and mid-decode
 *     (inside a step, right after layer 1) stops before the next layer with a typed
 *     'cancelled' error, leaves GPU memory where it was, and the next request gives the same
 *     tokens and kept sets as the fresh run;
 *   - consecutive requests leave GPU memory where it was after the second: the door's pool
 *     (live buffers and bytes), the engine's own buffers, and every GPUBuffer alive on the
 *     device (created minus destroyed: ORT's included).
 * Why after the second, and what the first two may differ by: decode through captured graphs
 * (the default on WebGPU) makes its fixed buffers (KV caches, masks, positions, new rows:
 * capturedDecode.ts) in the first request's decode. When those come from onnxruntime
 * (GpuBuffers with exact buffers off or unavailable), its shared bucket cache serves them from
 * buffers the prefill had just given back, and the second request's prefill then creates those
 * sizes anew, once; from there every count is flat (measured on Dawn: 446 → 452 device buffers
 * after request 2, all six made in prefill layer runs, of exactly the sizes the decoder had
 * taken from the cache; 452 after requests 3, 4 and 5). So the second request may add at most
 * as many device buffers as the decoder holds from onnxruntime (`onnxruntimeBuffers`: 0 with
 * exact buffers of ours, the default, so there the second request adds none), and none on the
 * plain decode path.
 * Requests cost ~30–90 s each on SwiftShader on these loaded 2-core machines, so the soak
 * runs ENGINE_SOAK_REQUESTS requests in all (default 4; the acceptance figure is 20:
 * `ENGINE_SOAK_REQUESTS=20 npx vitest run src/engine/lifecycle.test.ts`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupNodeGpu } from '../cli/shared/nodeGpu';
import type { Engine, GenerateRequest, GenerateResult } from './engine';
import { FIXTURES, fixturePackage, memoryReader } from './fixturePackage.testutil';
import type { OrtSession } from './ortEnv';
import { EngineError } from '../common/errors';

const NAME = 'llama-clip-gqa';
const golden = JSON.parse(readFileSync(join(FIXTURES, NAME, 'golden.json'), 'utf8')) as { question: string };
const image = new Uint8Array(readFileSync(join(FIXTURES, NAME, 'image.png')));
const SOAK = Number(process.env.ENGINE_SOAK_REQUESTS ?? 4);
const TOKENS = 6;

let engine: Engine;
/** Every GPUBuffer created on any device and not yet destroyed. */
const liveGpuBuffers = new Set<GPUBuffer>();

const request = (signal?: AbortSignal): GenerateRequest => ({
  image: { bytes: image, name: 'image.png' },
  question: golden.question,
  settings: { method: 'sparsevlm', budget: 64 },
  options: { maxNewTokens: TOKENS, temperature: 0, topP: 1, seed: 0 },
  signal,
});

function memory() {
  const pool = engine.door!.pool.snapshot();
  return {
    poolLiveBuffers: pool.liveBuffers,
    poolLiveBytes: pool.liveBytes,
    engineBuffers: engine.engineLiveBuffers,
    deviceBuffers: liveGpuBuffers.size,
  };
}

/** Replace one layer session's `run` for the duration of `body` (a test hook on the engine's own session). */
async function withLayerHook<T>(
  layer: number,
  hook: (run: OrtSession['run'], ...args: Parameters<OrtSession['run']>) => ReturnType<OrtSession['run']>,
  body: () => Promise<T>,
): Promise<T> {
  const session = engine.model!.sessions.layers[layer];
  const run = session.run.bind(session);
  session.run = ((...args: Parameters<OrtSession['run']>) => hook(run, ...args)) as OrtSession['run'];
  try {
    return await body();
  } finally {
    session.run = run;
  }
}

/** The same for the session a decode step runs layer `layer` through (the captured decoder's, when decode is captured). */
async function withDecodeLayerHook<T>(
  layer: number,
  hook: (run: OrtSession['run'], ...args: Parameters<OrtSession['run']>) => ReturnType<OrtSession['run']>,
  body: () => Promise<T>,
): Promise<T> {
  const session = engine.model!.decoder?.layerSession(layer);
  if (!session) return withLayerHook(layer, hook, body);
  const run = session.run.bind(session);
  session.run = ((...args: Parameters<OrtSession['run']>) => hook(run, ...args)) as OrtSession['run'];
  try {
    return await body();
  } finally {
    session.run = run;
  }
}

async function expectCancelled(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).code).toBe('cancelled');
    return e as EngineError;
  }
  throw new Error('expected the request to be cancelled');
}

const keptSets = (r: GenerateResult) => r.trace.stages.map((s) => s.kept);

beforeAll(async () => {
  const gpu = await setupNodeGpu();
  if (!gpu.adapter) throw new Error(`no WebGPU adapter: ${gpu.reason}`);
  const deviceProto = (globalThis as unknown as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
  const bufferProto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  const createBuffer = deviceProto.createBuffer;
  const destroy = bufferProto.destroy;
  deviceProto.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor) {
    const b = createBuffer.call(this, desc);
    liveGpuBuffers.add(b);
    return b;
  };
  bufferProto.destroy = function (this: GPUBuffer) {
    liveGpuBuffers.delete(this);
    return destroy.call(this);
  };
  const { Engine } = await import('./engine');
  engine = await Engine.create();
  await engine.load(memoryReader(await fixturePackage(NAME), NAME));
  // Captured decode runs its layers in sessions of `layersPerSession` and can stop between
  // sessions; two layers a session puts layers 1 and 2 (hooked below) in different ones.
  if (engine.model!.decoder) engine.model!.decoder.layersPerSession = 2;
}, 180_000);
afterAll(async () => engine?.dispose());

describe(`engine lifecycle on WebGPU (${NAME}, sparsevlm 64, ${TOKENS} greedy tokens)`, () => {
  let fresh: GenerateResult;
  let baseline: ReturnType<typeof memory>;

  it('cancel mid-prefill and mid-decode: typed error within one layer, memory unchanged, same answer after', async () => {
    fresh = await engine.generate(request());
    const first = memory();
    console.log(
      `fresh: tokens ${fresh.tokenIds.join(' ')}; stages ${fresh.trace.stages.map((s) => `${s.visualIn}→${s.visualOut}`).join(', ')}; memory ${JSON.stringify(first)}; prefill ${fresh.trace.timings.prefillMs.toFixed(0)} ms; decode ${engine.model!.decoder ? 'captured' : 'plain'}`,
    );
    expect(fresh.tokenIds.length).toBe(TOKENS);
    // The second request settles onnxruntime's buffer cache (top of file): at most the decoder's
    // onnxruntime buffers more on the device, everything else as after the first.
    const second = await engine.generate(request());
    expect(second.tokenIds).toEqual(fresh.tokenIds);
    baseline = memory();
    const refill = baseline.deviceBuffers - first.deviceBuffers;
    console.log(`second request: device buffers ${first.deviceBuffers} → ${baseline.deviceBuffers}`);
    expect(refill).toBeGreaterThanOrEqual(0);
    expect(refill).toBeLessThanOrEqual(engine.model!.decoder?.onnxruntimeBuffers ?? 0);
    expect({ ...baseline, deviceBuffers: 0 }).toEqual({ ...first, deviceBuffers: 0 });

    // Mid-prefill: the signal fires as layer 1 returns; layer 2 must never start.
    let controller = new AbortController();
    const laterLayerRuns: number[] = [];
    const e1 = await withLayerHook(
      1,
      async (run, ...args) => {
        const out = await run(...args);
        controller.abort();
        return out;
      },
      () =>
        withLayerHook(
          2,
          (run, ...args) => {
            laterLayerRuns.push(2);
            return run(...args);
          },
          () => expectCancelled(engine.generate(request(controller.signal))),
        ),
    );
    expect(e1.data).toEqual({ phase: 'layer 2' });
    expect(e1.message).toBe('The request was cancelled during layer 2.');
    expect(laterLayerRuns).toEqual([]);
    expect(memory()).toEqual(baseline);

    // Mid-decode: the signal fires as layer 1 returns inside the third decode step; layer 2 of that step must not run.
    controller = new AbortController();
    let decodeCallsOfLayer1 = 0;
    const decodeRunsOfLayer2: number[] = [];
    const e2 = await withDecodeLayerHook(
      1,
      async (run, feeds, ...rest) => {
        const out = await run(feeds, ...rest);
        const seq = (feeds as Record<string, { dims: readonly number[] }>).hidden.dims[1];
        if (seq === 1 && ++decodeCallsOfLayer1 === 3) controller.abort();
        return out;
      },
      () =>
        withDecodeLayerHook(
          2,
          (run, feeds, ...rest) => {
            if ((feeds as Record<string, { dims: readonly number[] }>).hidden.dims[1] === 1) decodeRunsOfLayer2.push(1);
            return run(feeds, ...rest);
          },
          () => expectCancelled(engine.generate(request(controller.signal))),
        ),
    );
    expect(e2.data).toEqual({ phase: 'decode step 2, layer 2' });
    expect(decodeRunsOfLayer2.length).toBe(2); // steps 0 and 1 ran layer 2; step 2 stopped before it
    expect(memory()).toEqual(baseline);

    const after = await engine.generate(request());
    expect(after.tokenIds).toEqual(fresh.tokenIds);
    expect(keptSets(after)).toEqual(keptSets(fresh));
    expect(memory()).toEqual(baseline);
  }, 900_000);

  it(`${SOAK} consecutive requests leave GPU memory where it was after the second`, async () => {
    // The cancellation test above already ran 5 requests; these continue on the same engine.
    const seen: ReturnType<typeof memory>[] = [];
    for (let i = 1; i < SOAK; i++) {
      const r = await engine.generate(request());
      expect(r.tokenIds, `request ${i + 1}`).toEqual(fresh.tokenIds);
      seen.push(memory());
    }
    console.log(
      `after ${SOAK} requests: ${JSON.stringify(seen.at(-1) ?? baseline)} (baseline ${JSON.stringify(baseline)}); pool ${JSON.stringify(engine.door!.pool.snapshot())}`,
    );
    for (const [i, m] of seen.entries()) expect(m, `after request ${i + 2}`).toEqual(baseline);
  }, 1_800_000);
});
