/**
 * GpuBuffers on Dawn: exact-size buffers of ours that onnxruntime-web keeps imported across the
 * runs of a captured session (the pin), their bytes as given, freed when disposed; and the
 * older way (onnxruntime's bucketed buffers) when asked, for comparison.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from './engine';
import { GraphBuilder } from '../onnx/builder';
import { GpuBuffers } from './gpuBuffers';
import { sessionOptions, webgpuProvider, type OrtSession } from './ortEnv';
import { dawnEngine } from './fixturePackage.testutil';

/** y = x + w over [N] f32: `w` stands for a lifted weight, fed to every run. */
function addGraph(N: number): Uint8Array {
  const g = new GraphBuilder('add_w');
  g.input('x', 'float32', [N]);
  g.input('w', 'float32', [N]);
  g.node('Add', ['x', 'w'], { outputs: ['y'] });
  g.output('y', 'float32', [N]);
  return g.serialize().model;
}

/** Records every buffer destroyed while it is installed. */
function watchDestroy(): { destroyed: Set<GPUBuffer>; restore(): void } {
  const proto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  const destroy = proto.destroy;
  const destroyed = new Set<GPUBuffer>();
  proto.destroy = function (this: GPUBuffer) {
    destroyed.add(this);
    return destroy.call(this);
  };
  return { destroyed, restore: () => void (proto.destroy = destroy) };
}

describe('GpuBuffers on WebGPU (Dawn)', () => {
  let engine: Engine;
  let device: GPUDevice;
  let warm: OrtSession;
  beforeAll(async () => {
    engine = await dawnEngine();
    const rt = engine.rt;
    warm = await rt.ort.InferenceSession.create(addGraph(4), sessionOptions(rt, ['y'])); // makes the device
    device = rt.device()!;
    expect(device).toBeTruthy();
  }, 300_000);
  afterAll(async () => {
    await warm?.release();
    await engine?.dispose();
  });

  it('exact buffers: the size asked for, the bytes given, imported once for every run of a captured session', async () => {
    const rt = engine.rt;
    const gpu = await GpuBuffers.create(rt.ort, device);
    expect(gpu.exactReason).toBeNull();
    expect(gpu.exact).toBe(true);
    const N = 275_000; // 1.1 MB: onnxruntime's bucket for it is 2 MiB
    const w = Float32Array.from({ length: N }, (_, i) => (i % 97) - 48);
    const weight = await gpu.tensor('float32', [N], w, w.byteLength, 'test.w');
    expect(weight.buffer.size).toBe(w.byteLength);
    const x = await gpu.tensor('float32', [N], null, N * 4, 'test.x');
    const y = await gpu.tensor('float32', [N], null, N * 4, 'test.y');
    const session = await rt.ort.InferenceSession.create(addGraph(N), {
      ...sessionOptions(rt, ['y']),
      executionProviders: [webgpuProvider(rt)],
      enableGraphCapture: true,
    });
    const reader = await rt.ort.InferenceSession.create(addGraph(N), sessionOptions(rt, []));
    try {
      // onnxruntime captures on the third run and replays after: each must read this run's x
      // and the same w through imports made once.
      for (let run = 1; run <= 6; run++) {
        const xs = new Float32Array(N).fill(run);
        device.queue.writeBuffer(x.buffer, 0, xs);
        await session.run({ x: x.tensor, w: weight.tensor }, { y: y.tensor });
        const zero = new rt.ort.Tensor('float32', new Float32Array(N), [N]);
        const out = (await reader.run({ x: y.tensor, w: zero })).y.data as Float32Array;
        expect(out[0]).toBe(run + w[0]);
        expect(out[N - 1]).toBe(run + w[N - 1]);
        expect(out[1234]).toBe(run + w[1234]);
      }
    } finally {
      await session.release();
      await reader.release();
    }
    // Disposed, then freed at the next sweep (release here): destroyed, and the count back.
    const watch = watchDestroy();
    try {
      for (const t of [weight, x, y]) t.tensor.dispose();
      expect(gpu.live).toBe(0);
      await gpu.release();
      expect([weight, x, y].every((t) => watch.destroyed.has(t.buffer))).toBe(true);
    } finally {
      watch.restore();
    }
  });

  it("exact: false keeps onnxruntime's own bucketed buffers (what exact buffers save)", async () => {
    const gpu = await GpuBuffers.create(engine.rt.ort, device, { exact: false });
    expect(gpu.exact).toBe(false);
    const t = await gpu.tensor('float32', [275_000], null, 1_100_000, 'test.bucketed');
    expect(t.buffer.size).toBe(2 * 2 ** 20);
    t.tensor.dispose();
    await gpu.release();
  });
});
