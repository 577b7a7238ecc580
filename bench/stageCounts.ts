/**
 * Structural cost of SparseVLM's stages on a GpuPruneBackend: per stage, how many submits,
 * command encoders, pipelines, bind groups, buffers and mapAsync read-backs the method and the
 * engine's plan application (read rows, gather hidden) cost, and the wall time. Counts do not
 * depend on the GPU's speed, so they are what a CPU machine (SwiftShader) can check for a big
 * GPU (issue 4: the three stages must cost ~1 ms each on an H100).
 *
 * The stages run on synthetic layer outputs (random hidden/query/key at the model's shapes);
 * the method, the backend and the kernels are the shipped ones. Device calls are observed by
 * wrapping the device's own methods (each still does its work), for the duration of `run` only.
 *
 * CLI (7B shapes: hidden 4096, 32 heads × 128, 576 visual tokens, budget 64):
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp \
 *     npx tsx bench/stageCounts.ts [--small] [--rounds N] [--vary] [--no-warmup] [--gpu]
 * (--vary: a new random request each round; --gpu: a real GPU, no SwiftShader ICD)
 */
import { createMethod } from '../src/prune/registry';
import { REFERENCE_MODEL_DIMS } from '../src/prune/schedule';
import type { GpuPruneBackend } from '../src/prune/gpuBackend';
import type { LayerContext, ModelDims, RequestContext, SequenceLayout } from '../src/prune/method';
import type { BTensor } from '../src/common/tensor';
import { seededRandom } from '../src/common/random';

export interface StageCounts {
  layer: number;
  visualIn: number;
  visualOut: number;
  submits: number;
  encoders: number;
  pipelines: number;
  bindGroups: number;
  buffers: number;
  mapAsync: number;
  /** Door read-backs (each one mapAsync). */
  readbacks: number;
  /** Wall ms of the method's afterLayer and the plan application (up to the gathered tensor's hand-off). */
  ms: number;
  /** Of `ms`, waiting in mapAsync (GPU work and the driver's round trip); the rest is JS and encoding. */
  mapWaitMs: number;
}

export interface StageShapes {
  dims: ModelDims;
  layout: SequenceLayout;
  budget: number;
}

export const LLAVA7B_SHAPES: StageShapes = {
  dims: REFERENCE_MODEL_DIMS,
  layout: { preLength: 5, visualCount: 576, textLength: 12 },
  budget: 64,
};

/** Same schedule (576 → 82 → 32 → 18), narrow layers: for tests on SwiftShader. */
export const SMALL_SHAPES: StageShapes = {
  dims: {
    numLayers: 32,
    hiddenSize: 64,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    intermediateSize: 128,
    ropeTheta: 10000,
    visualTokens: 576,
  },
  layout: { preLength: 5, visualCount: 576, textLength: 12 },
  budget: 64,
};

type Counter = {
  submits: number;
  encoders: number;
  pipelines: number;
  bindGroups: number;
  buffers: number;
  mapAsync: number;
  mapWaitMs: number;
};

/** Wraps the device's (and GPUBuffer's) methods to count calls; `restore` undoes it. */
function observe(device: GPUDevice): { counter: Counter; restore: () => void } {
  const counter: Counter = {
    submits: 0,
    encoders: 0,
    pipelines: 0,
    bindGroups: 0,
    buffers: 0,
    mapAsync: 0,
    mapWaitMs: 0,
  };
  const restores: (() => void)[] = [];
  const wrap = <O extends object>(obj: O, name: string, field: Exclude<keyof Counter, 'mapWaitMs'>) => {
    const rec = obj as unknown as Record<string, (...a: unknown[]) => unknown>;
    const original = rec[name];
    const own = Object.prototype.hasOwnProperty.call(obj, name);
    rec[name] = function (this: unknown, ...args: unknown[]) {
      counter[field]++;
      const out = original.apply(this, args);
      if (field === 'mapAsync') {
        const t0 = performance.now();
        return (out as Promise<void>).finally(() => (counter.mapWaitMs += performance.now() - t0));
      }
      return out;
    };
    restores.push(() => (own ? (rec[name] = original) : delete rec[name]));
  };
  wrap(device.queue, 'submit', 'submits');
  wrap(device, 'createCommandEncoder', 'encoders');
  wrap(device, 'createComputePipeline', 'pipelines');
  wrap(device, 'createComputePipelineAsync', 'pipelines');
  wrap(device, 'createBindGroup', 'bindGroups');
  wrap(device, 'createBuffer', 'buffers');
  const bufferProto = (globalThis as unknown as { GPUBuffer: { prototype: GPUBuffer } }).GPUBuffer.prototype;
  wrap(bufferProto, 'mapAsync', 'mapAsync');
  return { counter, restore: () => restores.reverse().forEach((r) => r()) };
}

function random(n: number, seed: number, scale: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * scale);
}

/**
 * One request's SparseVLM stages (begin + every layer's afterLayer, plans applied as the engine
 * does: read the row list, gather hidden). Returns counts per stage (layers without a stage
 * cost nothing and are not listed) and of `begin`.
 */
export async function runStages(
  be: GpuPruneBackend,
  shapes: StageShapes,
  seed = 1,
): Promise<{ begin: StageCounts; stages: StageCounts[] }> {
  const { dims, budget } = shapes;
  let layout = shapes.layout;
  const D = dims.hiddenSize;
  const method = createMethod('sparsevlm', { budget }, dims);
  let L = layout.preLength + layout.visualCount + layout.textLength;
  const embeds = random(L * D, seed, 2);
  const vs = layout.preLength * D;
  const ts = (layout.preLength + layout.visualCount) * D;
  const owned: BTensor[] = [];
  const up = (a: Float32Array | Int32Array, shape: number[]) => {
    const t = be.upload(a, shape);
    owned.push(t);
    return t;
  };
  const request: RequestContext = {
    backend: be,
    dims,
    layout,
    embeds: up(embeds, [L, D]),
    visualEmbeds: up(embeds.slice(vs, ts), [layout.visualCount, D]),
    textEmbeds: up(embeds.slice(ts), [layout.textLength, D]),
    visualOrigin: Int32Array.from({ length: layout.visualCount }, (_, i) => i),
  };
  const device = be.door.device;
  const measure = async (layer: number, visualIn: number, fn: () => Promise<number>): Promise<StageCounts> => {
    await device.queue.onSubmittedWorkDone();
    const reads0 = be.door.readbacks.count;
    const { counter, restore } = observe(device);
    const t0 = performance.now();
    let visualOut: number;
    let ms: number;
    try {
      visualOut = await fn();
      ms = performance.now() - t0;
      await device.queue.onSubmittedWorkDone();
    } finally {
      restore();
    }
    return { layer, visualIn, visualOut, ...counter, readbacks: be.door.readbacks.count - reads0, ms };
  };
  const begin = await measure(-1, layout.visualCount, async () => {
    await method.begin(request);
    return layout.visualCount;
  });
  let hidden = up(random(L * D, seed + 1, 2), [L, D]);
  let origin = request.visualOrigin;
  const stages: StageCounts[] = [];
  for (let layer = 0; layer < dims.numLayers; layer++) {
    const query = up(random(dims.numHeads * L * dims.headDim, seed + 100 + layer, 1), [dims.numHeads, L, dims.headDim]);
    const key = up(random(dims.numKvHeads * L * dims.headDim, seed + 200 + layer, 1), [
      dims.numKvHeads,
      L,
      dims.headDim,
    ]);
    const positions = up(
      Int32Array.from({ length: L }, (_, i) => i),
      [L],
    );
    const ctx: LayerContext = { ...request, layout, visualOrigin: origin, layer, hidden, query, key, positions };
    let applied = false;
    const counts = await measure(layer, layout.visualCount, async () => {
      const plan = await method.afterLayer(ctx);
      if (!plan) return layout.visualCount;
      applied = true;
      // As src/engine/prefill.ts applies a plan: the row list to the host, hidden gathered on the GPU.
      const rows = await be.read(plan.rows);
      const next = be.gather(hidden, plan.merged, plan.rows);
      be.bufferOf(next); // handed to ORT as the next layer's input
      be.release(plan.rows);
      if (plan.merged) be.release(plan.merged);
      owned.push(next);
      hidden = next;
      L = rows.length;
      layout = plan.layout;
      origin = plan.visualOrigin;
      return layout.visualCount;
    });
    if (applied) stages.push(counts);
  }
  for (const t of owned) be.release(t);
  return { begin, stages };
}

export function formatCounts(rows: StageCounts[]): string {
  const head = 'layer  visual      submits encoders pipelines bindGroups buffers mapAsync readbacks      ms  mapWait';
  const lines = rows.map(
    (r) =>
      `${String(r.layer).padStart(5)}  ${`${r.visualIn}→${r.visualOut}`.padEnd(10)} ${[
        r.submits,
        r.encoders,
        r.pipelines,
        r.bindGroups,
        r.buffers,
        r.mapAsync,
        r.readbacks,
      ]
        .map((x, i) => String(x).padStart([8, 8, 9, 10, 7, 8, 9][i]))
        .join(' ')} ${r.ms.toFixed(2).padStart(7)} ${r.mapWaitMs.toFixed(2).padStart(8)}`,
  );
  return [head, ...lines].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const shapes = args.includes('--small') ? SMALL_SHAPES : LLAVA7B_SHAPES;
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
  const { dawnDevice, dawnDoor } = await import('../src/gpu/testing/dawn');
  // On the GPU machine (--gpu) the loader finds the NVIDIA driver: no SwiftShader ICD.
  await dawnDevice({ swiftshader: !args.includes('--gpu') });
  const { GpuPruneBackend } = await import('../src/prune/gpuBackend');
  const { door } = await dawnDoor();
  const be = new GpuPruneBackend(door);
  const warm = (be as unknown as { warmup?: () => Promise<void> }).warmup;
  if (warm && !args.includes('--no-warmup')) {
    const t0 = performance.now();
    await warm.call(be);
    console.log(`warmup ${(performance.now() - t0).toFixed(1)} ms`);
  }
  if (args.includes('--roundtrip')) {
    const device = door.device;
    const src = device.createBuffer({ size: 256, usage: 0x80 | 0x04 | 0x08 });
    const st = device.createBuffer({ size: 256, usage: 0x01 | 0x08 });
    for (const what of ['mapAsync', 'onSubmittedWorkDone'] as const) {
      const n = 50;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const e = device.createCommandEncoder();
        e.copyBufferToBuffer(src, 0, st, 0, 256);
        device.queue.submit([e.finish()]);
        if (what === 'mapAsync') {
          await st.mapAsync(1);
          st.unmap();
        } else await device.queue.onSubmittedWorkDone();
      }
      console.log(`empty ${what} round trip: ${((performance.now() - t0) / n).toFixed(3)} ms`);
    }
  }
  // --calls: synchronous ms per call site (where a stage's JS time goes), summed over the rounds.
  const callMs = new Map<string, { n: number; ms: number }>();
  if (args.includes('--calls')) {
    const time = (obj: object, name: string, label: string) => {
      const rec = obj as unknown as Record<string, (...a: unknown[]) => unknown>;
      const original = rec[name];
      rec[name] = function (this: unknown, ...a: unknown[]) {
        const t0 = performance.now();
        try {
          return original.apply(this, a);
        } finally {
          const e = callMs.get(label) ?? { n: 0, ms: 0 };
          e.n++;
          e.ms += performance.now() - t0;
          callMs.set(label, e);
        }
      };
    };
    for (const m of [
      'upload',
      'raterAttention',
      'topkKeep',
      'selectRows',
      'dpcKnnMerge',
      'gather',
      'bufferOf',
      'readMany',
      'read',
    ])
      time(be, m, `backend.${m}`);
    time(door.device.queue, 'writeBuffer', 'queue.writeBuffer');
    time(door.device.queue, 'submit', 'queue.submit');
    for (const m of ['createBindGroup', 'createCommandEncoder', 'createBuffer']) time(door.device, m, `device.${m}`);
  }
  for (let r = 0; r < rounds; r++) {
    const { begin, stages } = await runStages(be, shapes, args.includes('--vary') ? 1 + r : 1);
    console.log(`round ${r} (${shapes === SMALL_SHAPES ? 'small' : '7B'} shapes; begin = raterSelect)`);
    console.log(formatCounts([begin, ...stages]));
  }
  for (const [label, { n, ms }] of callMs)
    console.log(`${label.padEnd(28)} ${String(n).padStart(5)} calls ${ms.toFixed(2).padStart(9)} ms (sync part)`);
  process.exit(0);
}

if (process.argv[1] && /stageCounts\.(ts|mjs)$/.test(process.argv[1])) void main();
