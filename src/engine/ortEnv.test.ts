/**
 * onnxruntime-web's WebGPU EP in Node on Dawn, through our setup: two sessions chained on the
 * GPU (gpu-buffer output → our buffer-copy splice on ORT's borrowed device → fromGpuBuffer
 * input), checked against the same graphs on the wasm EP.
 */
import { describe, expect, it } from 'vitest';
import { setupNodeGpu } from '../cli/shared/nodeGpu';
import { GraphBuilder } from '../onnx/builder';
import { GpuTensorOps } from './ops';
import { GpuDoor } from '../gpu/device';

/** y = x·2 + 1 over [1,S,4]. */
function graph(name: string, out: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input('x', 'float32', [1, 'S', 4]);
  g.f32('two', Float32Array.of(2), []);
  g.f32('one', Float32Array.of(1), []);
  const doubled = g.op('Mul', ['x', 'two']);
  g.node('Add', [doubled, 'one'], { outputs: [out] });
  g.output(out, 'float32', [1, 'S', 4]);
  return g.serialize().model;
}

describe('ORT WebGPU on Dawn (Node)', () => {
  it('chains sessions through GPU buffers on ORT’s own device', async () => {
    const gpu = await setupNodeGpu();
    expect(gpu.adapter, gpu.reason).not.toBeNull();
    const { initOrt, sessionOptions } = await import('./ortEnv');
    const rt = await initOrt();
    expect(rt.backend).toBe('webgpu');
    const { ort } = rt;
    const a = await ort.InferenceSession.create(graph('a', 'y'), sessionOptions(rt, ['y']));
    const b = await ort.InferenceSession.create(graph('b', 'z'), sessionOptions(rt, []));
    const device = rt.device();
    expect(device).not.toBeNull();
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    const y = (await a.run({ x: new ort.Tensor('float32', x, [1, 3, 4]) })).y;
    expect(y.location).toBe('gpu-buffer');
    // Reverse the 3 rows with our splice (buffer copies on ORT's device), feed session b.
    const door = new GpuDoor(device!);
    const ops = new GpuTensorOps(ort, door);
    const spliced = ops.concatRows(
      [
        { tensor: y, fromRow: 2, rows: 1 },
        { tensor: y, fromRow: 1, rows: 1 },
        { tensor: y, fromRow: 0, rows: 1 },
      ],
      4,
    );
    const z = (await b.run({ x: spliced })).z;
    const got = Array.from(z.data as Float32Array);
    const rows = [2, 1, 0].flatMap((r) => Array.from(x.subarray(r * 4, r * 4 + 4), (v) => (v * 2 + 1) * 2 + 1));
    expect(got).toEqual(rows);
    spliced.dispose();
    expect(ops.liveBuffers).toBe(0);
    // The splice buffer came from the door's pool and went back to it: the next one reuses it.
    expect(door.pool.snapshot()).toMatchObject({ liveBuffers: 0, freeBuffers: 1, created: 1 });
    // Reused for the same session input with other rows and another length: onnxruntime must
    // read the new contents (it keeps the buffer's registration when the same GPUBuffer returns).
    const again = ops.concatRows(
      [
        { tensor: y, fromRow: 1, rows: 1 },
        { tensor: y, fromRow: 0, rows: 1 },
      ],
      4,
    );
    expect(door.pool.snapshot()).toMatchObject({ liveBuffers: 1, created: 1 });
    const z2 = (await b.run({ x: again })).z;
    const rows2 = [1, 0].flatMap((r) => Array.from(x.subarray(r * 4, r * 4 + 4), (v) => (v * 2 + 1) * 2 + 1));
    expect(Array.from(z2.data as Float32Array)).toEqual(rows2);
    again.dispose();
    y.dispose();
    expect(door.pool.snapshot()).toMatchObject({ liveBuffers: 0, created: 1 });
  });
});
