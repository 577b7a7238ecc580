/**
 * onnxruntime-web's WebGPU EP in Node on Dawn, through our setup: two sessions chained on the
 * GPU (gpu-buffer output → our buffer-copy splice on ORT's borrowed device → fromGpuBuffer
 * input), checked against the same graphs on the wasm EP.
 */
import { execFile } from 'node:child_process';
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

const TSX = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

interface ChildLine {
  maxPendingDispatches: number | null;
  configuredAppends: number;
  submits: number;
  dispatches: number;
  y: number[];
}

/** webgpuConfig.testutil.ts in a process of its own, with SVLM_MAX_PENDING_DISPATCHES = `value` (unset when null). */
function child(value: string | null): Promise<ChildLine> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SVLM_MAX_PENDING_DISPATCHES;
  if (value !== null) env.SVLM_MAX_PENDING_DISPATCHES = value;
  return new Promise((done, fail) => {
    execFile(
      TSX,
      ['src/engine/webgpuConfig.testutil.ts'],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (err || !line) fail(new Error(`child (${value}) failed: ${err?.message ?? ''}\n${stderr}`));
        else done(JSON.parse(line) as ChildLine);
      },
    );
  });
}

describe('ORT WebGPU on Dawn (Node)', () => {
  // onnxruntime-web's JS cannot pass maxNumPendingDispatches (webgpuConfig.ts says why and how we
  // do). It is a WebGPU-context option, fixed by the first session of a process, so each value
  // runs in a process of its own. A chain of 40 dispatches, one run, on SwiftShader (2026-12-03):
  // 4 submits at onnxruntime's default (16), 2 at 64, 12 at 4 (one per 16 or 4 dispatches, the
  // end of the run, the download of y). Fails (4 submits at 64) when the entries are not added.
  it('maxNumPendingDispatches from SVLM_MAX_PENDING_DISPATCHES reaches the WebGPU EP', async () => {
    const base = await child(null);
    const wide = await child('64');
    const narrow = await child('4');
    expect([base.maxPendingDispatches, wide.maxPendingDispatches, narrow.maxPendingDispatches]).toEqual([null, 64, 4]);
    expect([base.configuredAppends, wide.configuredAppends, narrow.configuredAppends]).toEqual([0, 1, 1]);
    expect(base.dispatches).toBeGreaterThanOrEqual(40);
    expect([wide.dispatches, narrow.dispatches]).toEqual([base.dispatches, base.dispatches]);
    // Default 16: a submit at least every 16 dispatches.
    expect(base.submits).toBeGreaterThanOrEqual(Math.floor(base.dispatches / 16));
    expect(wide.submits).toBeLessThan(base.submits);
    expect(wide.submits).toBeLessThanOrEqual(2);
    expect(narrow.submits).toBeGreaterThanOrEqual(Math.floor(base.dispatches / 4));
    // Only when work is submitted changes, not what is computed.
    expect(wide.y).toEqual(base.y);
    expect(narrow.y).toEqual(base.y);
  });

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
