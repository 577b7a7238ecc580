/**
 * A script, not a module to import: one process of ortEnv.test.ts's maxNumPendingDispatches test (a process each, because the
 * option belongs to onnxruntime's WebGPU context, which the first session of a process makes):
 * the engine's runtime (`initOrt`, `SVLM_MAX_PENDING_DISPATCHES` from the environment), one
 * session through the engine's `sessionOptions` over a chain of CHAIN elementwise nodes (one
 * dispatch each), one warm-up run, then one run with `GPUQueue.submit` and
 * `GPUComputePassEncoder.dispatchWorkgroups` counted. Prints one JSON line.
 *
 *   tsx src/engine/webgpuConfig.testutil.ts
 */
import { releaseNodeGpu, setupNodeGpu } from '../cli/shared/nodeGpu';
import { GraphBuilder } from '../onnx/builder';
import { initOrt, sessionOptions } from './ortEnv';
import { webgpuConfigStats } from './webgpuConfig';

const CHAIN = 40;

/** y = ((x·c0) + c1)·c2 … over [1,64]: CHAIN nodes that onnxruntime does not fuse. */
function chain(): Uint8Array {
  const g = new GraphBuilder('chain');
  g.input('x', 'float32', [1, 64]);
  let cur = 'x';
  for (let i = 0; i < CHAIN; i++) {
    g.f32(`c${i}`, Float32Array.of(1 + i / 100), []);
    cur = g.op(i % 2 ? 'Add' : 'Mul', [cur, `c${i}`]);
  }
  g.node('Identity', [cur], { outputs: ['y'] });
  g.output('y', 'float32', [1, 64]);
  return g.serialize().model;
}

/** Count calls of `cls.prototype[method]` while `on.counting`. */
function count(cls: string, method: string, on: { counting: boolean }): { n: number } {
  const c = { n: 0 };
  const proto = (globalThis as unknown as Record<string, { prototype: Record<string, unknown> }>)[cls].prototype;
  const original = proto[method] as (...a: unknown[]) => unknown;
  proto[method] = function (this: unknown, ...args: unknown[]) {
    if (on.counting) c.n += 1;
    return original.apply(this, args);
  };
  return c;
}

async function main(): Promise<void> {
  const gpu = await setupNodeGpu();
  if (!gpu.adapter) throw new Error(gpu.reason);
  const rt = await initOrt();
  if (rt.backend !== 'webgpu') throw new Error(`not on WebGPU: ${rt.fallbackReason}`);
  const on = { counting: false };
  const submits = count('GPUQueue', 'submit', on);
  const dispatches = count('GPUComputePassEncoder', 'dispatchWorkgroups', on);
  const session = await rt.ort.InferenceSession.create(chain(), sessionOptions(rt, []));
  const x = new rt.ort.Tensor(
    'float32',
    Float32Array.from({ length: 64 }, (_, i) => i / 8),
    [1, 64],
  );
  (await session.run({ x })).y.dispose(); // warm-up: pipelines compiled
  on.counting = true;
  const y = (await session.run({ x })).y;
  on.counting = false;
  const line = {
    maxPendingDispatches: rt.tuning.maxPendingDispatches,
    configuredAppends: webgpuConfigStats.appends,
    submits: submits.n,
    dispatches: dispatches.n,
    y: Array.from(y.data as Float32Array),
  };
  y.dispose();
  await session.release();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().then(
  () => {
    releaseNodeGpu();
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
