/**
 * Diagnostic for the GPU machine: the CPU cost of one decoder-layer session run (decode shape,
 * one token, a growing KV cache on the GPU), and where it goes in Dawn's API, under the
 * settings that matter (Liftoff-only wasm or tier-up, Dawn toggles via SVLM_DAWN_TOGGLES).
 * Bundled and run by bench/gpu/run.sh: `node dispatchCost.mjs <package dir> [--calls]`.
 *
 * Why it exists: on an H100 a layer run of a few dozen tiny dispatches cost 5–8 ms of CPU,
 * which bounds decode and pruned prefill; this prints the per-run breakdown (submits, bind
 * groups, staging buffers) that said where.
 */
import { readFileSync } from 'node:fs';
import { liftoffOnly, setupNodeGpu } from '../../src/cli/shared/nodeGpu';

const calls: Record<string, { n: number; ms: number }> = {};

/** Count and time the synchronous Dawn calls onnxruntime makes (prototype wrappers). */
function instrument(): void {
  const methods: Record<string, string[]> = {
    GPUComputePassEncoder: ['dispatchWorkgroups', 'setBindGroup', 'setPipeline', 'end'],
    GPUDevice: ['createBindGroup', 'createBuffer', 'createCommandEncoder'],
    GPUQueue: ['writeBuffer', 'submit'],
    GPUCommandEncoder: ['beginComputePass', 'finish', 'copyBufferToBuffer'],
    GPUBuffer: ['mapAsync', 'destroy', 'getMappedRange', 'unmap'],
  };
  for (const [cls, names] of Object.entries(methods)) {
    const proto = (
      globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> } | undefined>
    )[cls]?.prototype;
    if (!proto) continue;
    for (const name of names) {
      const original = proto[name];
      if (!original) continue;
      const key = `${cls}.${name}`;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        const t = performance.now();
        const r = original.apply(this, args);
        const c = (calls[key] ??= { n: 0, ms: 0 });
        c.n += 1;
        c.ms += performance.now() - t;
        return r;
      };
    }
  }
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const setup = await setupNodeGpu();
  if (!setup.adapter) throw new Error(setup.reason);
  console.log(
    `adapter: ${setup.reason}; liftoff-only wasm ${liftoffOnly()}; extra Dawn toggles '${process.env.SVLM_DAWN_TOGGLES ?? ''}'`,
  );
  if (process.argv.includes('--calls')) instrument();
  const ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const text = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')).text_config;
  const D: number = text.hidden_size;
  const kv: number = text.num_key_value_heads;
  const hd: number = text.head_dim ?? D / text.num_attention_heads;
  const session = await ort.InferenceSession.create(readFileSync(`${dir}/layers/00.onnx`), {
    executionProviders: ['webgpu'],
    preferredOutputLocation: 'gpu-buffer',
  });
  const device = (ort.env.webgpu as unknown as { device: GPUDevice }).device;
  // GPU-resident inputs, as the engine passes them (src/engine/ops.ts `ids`).
  const gpuTensor = (
    type: 'float32' | 'int64',
    data: Float32Array<ArrayBuffer> | BigInt64Array<ArrayBuffer>,
    dims: number[],
  ) => {
    const buffer = device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    device.queue.writeBuffer(buffer, 0, data);
    return ort.Tensor.fromGpuBuffer(buffer, { dataType: type, dims, dispose: () => buffer.destroy() });
  };
  const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
  let key: import('onnxruntime-web').Tensor = empty();
  let value: import('onnxruntime-web').Tensor = empty();
  let hidden: import('onnxruntime-web').Tensor = gpuTensor('float32', new Float32Array(D).fill(0.01), [1, 1, D]);
  const rounds = 4;
  const perRound = 300;
  for (let round = 0; round < rounds; round++) {
    for (const c of Object.values(calls)) {
      c.n = 0;
      c.ms = 0;
    }
    const positions: import('onnxruntime-web').Tensor[] = [];
    let inRun = 0;
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) {
      const position = gpuTensor('int64', BigInt64Array.of(BigInt(round * perRound + i)), [1, 1]);
      positions.push(position);
      const ta = performance.now();
      const out = await session.run({ hidden, position_ids: position, past_key: key, past_value: value });
      inRun += performance.now() - ta;
      out.query.dispose();
      hidden.dispose();
      key.dispose();
      value.dispose();
      ({ hidden_out: hidden, present_key: key, present_value: value } = out);
    }
    const t1 = performance.now();
    await device.queue.onSubmittedWorkDone();
    const t2 = performance.now();
    for (const p of positions) p.dispose();
    console.log(
      `round ${round}: ${(inRun / perRound).toFixed(3)} ms CPU in run(), ${((t2 - t0) / perRound).toFixed(3)} ms per run with the GPU (drain ${(t2 - t1).toFixed(1)} ms), KV ${key.dims[2]}`,
    );
  }
  for (const [k, c] of Object.entries(calls).sort()) {
    if (c.n)
      console.log(
        `  ${k}: ${(c.n / perRound).toFixed(1)} per run, ${((1000 * c.ms) / perRound).toFixed(0)} µs per run`,
      );
  }
  process.exit(0);
}

main().catch((e) => {
  console.error(`dispatchCost: ${(e as Error).message}`);
  process.exit(1);
});
