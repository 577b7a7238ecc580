/**
 * Kernel runner: compiles each `shaders/<name>.wgsl` entry point once per device with an
 * explicit bind-group layout (binding i ↔ `bindings[i]`), and encodes dispatches.
 * Wrappers in kernels/ own their layouts and call `dispatch`.
 *
 * Cost model (issue 4: a pruning stage must cost ~1 ms on a big GPU, so what counts is the
 * number of round trips, not FLOPs): passes go into the door's one pending encoder (one
 * submit per stage, made by its read-back); pipelines are compiled once per device, ahead of
 * the first request by `warm`; bind groups are cached per (pipeline, buffers), and the
 * buffers come from the pool, so a warm request creates none.
 */
import type { GpuDoor } from './device';
import { SHADERS, type ShaderName } from './shaders.generated';
import type { GpuProfiler } from './profiler';

export type BindingKind = 'uniform' | 'read' | 'write';

export interface KernelSpec {
  shader: ShaderName;
  entry: string;
  bindings: readonly BindingKind[];
  constants?: Record<string, number>;
}

/** Largest number of workgroups per dimension (WebGPU default). */
export const MAX_GROUPS = 65535;

/** Split a 1-D count of workgroups into (x, y) within the per-dimension limit. */
export function groups1d(invocations: number, workgroupSize: number): [number, number] {
  const n = Math.max(1, Math.ceil(invocations / workgroupSize));
  if (n <= MAX_GROUPS) return [n, 1];
  return [MAX_GROUPS, Math.ceil(n / MAX_GROUPS)];
}

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Binding kinds, e.g. 'uniform,read,write': pipelines with equal signatures share a layout and bind groups. */
  signature: string;
}

/** Bind groups kept (least recently used dropped first). A request uses a few dozen. */
const BIND_GROUP_CACHE = 512;

export interface RunnerCounts {
  pipelines: number;
  bindGroups: number;
  passes: number;
  dispatches: number;
}

export class KernelRunner {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, Compiled>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private layouts = new Map<string, { layout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout }>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  /** Pipelines and bind groups created, passes and dispatches encoded (structural tests). */
  readonly counts: RunnerCounts = { pipelines: 0, bindGroups: 0, passes: 0, dispatches: 0 };
  profiler: GpuProfiler | null = null;

  constructor(readonly door: GpuDoor) {}

  get device(): GPUDevice {
    return this.door.device;
  }

  private static key(spec: KernelSpec): string {
    return `${spec.shader}:${spec.entry}:${JSON.stringify(spec.constants ?? {})}`;
  }

  private compile(spec: KernelSpec): Compiled {
    const key = KernelRunner.key(spec);
    let c = this.pipelines.get(key);
    if (c) return c;
    const { descriptor, layout } = this.describe(spec);
    c = { pipeline: this.device.createComputePipeline(descriptor), layout, signature: spec.bindings.join(',') };
    this.counts.pipelines++;
    this.pipelines.set(key, c);
    return c;
  }

  /**
   * Compile `specs` ahead of use (at model load), in parallel where the implementation
   * compiles asynchronously, so that the first request does not wait for shader compilation.
   */
  async warm(specs: readonly KernelSpec[]): Promise<void> {
    const todo = specs.filter(
      (spec, i) =>
        !this.pipelines.has(KernelRunner.key(spec)) &&
        specs.findIndex((o) => KernelRunner.key(o) === KernelRunner.key(spec)) === i,
    );
    await Promise.all(
      todo.map(async (spec) => {
        const { descriptor, layout } = this.describe(spec);
        const pipeline = await this.device.createComputePipelineAsync(descriptor);
        const key = KernelRunner.key(spec);
        if (this.pipelines.has(key)) return;
        this.counts.pipelines++;
        this.pipelines.set(key, { pipeline, layout, signature: spec.bindings.join(',') });
      }),
    );
  }

  private describe(spec: KernelSpec): { descriptor: GPUComputePipelineDescriptor; layout: GPUBindGroupLayout } {
    let module = this.modules.get(spec.shader);
    if (!module) {
      module = this.device.createShaderModule({ label: `${spec.shader}.module`, code: SHADERS[spec.shader] });
      this.modules.set(spec.shader, module);
    }
    const { layout, pipelineLayout } = this.layoutFor(spec.bindings);
    const descriptor: GPUComputePipelineDescriptor = {
      label: `${spec.shader}.${spec.entry}`,
      layout: pipelineLayout,
      compute: { module, entryPoint: spec.entry, constants: spec.constants },
    };
    return { descriptor, layout };
  }

  /**
   * One bind-group layout per binding signature: all entries of a shader (and kernels with the
   * same bindings) then share bind groups — a stage's dpc_knn_merge dispatches 7 entries over
   * one group.
   */
  private layoutFor(bindings: readonly BindingKind[]): {
    layout: GPUBindGroupLayout;
    pipelineLayout: GPUPipelineLayout;
  } {
    const signature = bindings.join(',');
    let l = this.layouts.get(signature);
    if (!l) {
      const layout = this.device.createBindGroupLayout({
        label: `KernelRunner.layout(${signature})`,
        entries: bindings.map((kind, binding) => ({
          binding,
          visibility: 0x4, // GPUShaderStage.COMPUTE
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      l = {
        layout,
        pipelineLayout: this.device.createPipelineLayout({
          label: `KernelRunner.pipelineLayout(${signature})`,
          bindGroupLayouts: [layout],
        }),
      };
      this.layouts.set(signature, l);
    }
    return l;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /**
   * The bind group of `buffers` (whole-buffer bindings) for a layout, cached: pool buffers
   * and ORT's recycled outputs recur across stages and requests. A destroyed buffer's entries
   * are never hit again (a new buffer gets a new id) and age out of the cache.
   */
  private bindGroup(compiled: Compiled, spec: KernelSpec, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = `${compiled.signature}|${buffers.map((b) => this.bufferId(b)).join(',')}`;
    let g = this.bindGroups.get(key);
    if (g) {
      this.bindGroups.delete(key); // re-insert: most recently used last
      this.bindGroups.set(key, g);
      return g;
    }
    g = this.device.createBindGroup({
      label: `${spec.shader}.${spec.entry}.bindGroup`,
      layout: compiled.layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    this.counts.bindGroups++;
    this.bindGroups.set(key, g);
    if (this.bindGroups.size > BIND_GROUP_CACHE) this.bindGroups.delete(this.bindGroups.keys().next().value!);
    return g;
  }

  /**
   * Uniform block from 32-bit words (u32 unless listed in `floats`), in the door's slot for
   * this position of the batch (wrappers may `pool.release` it: the pool ignores it).
   */
  uniform(owner: string, words: readonly number[], floats: readonly number[] = []): GPUBuffer {
    const data = new ArrayBuffer(Math.max(16, Math.ceil(words.length / 4) * 16));
    const u = new Uint32Array(data);
    const f = new Float32Array(data);
    words.forEach((w, i) => (floats.includes(i) ? (f[i] = w) : (u[i] = w >>> 0)));
    const buf = this.door.uniformSlot(data.byteLength);
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  /** Begin a compute pass for one wrapper call (timestamped when a profiler is attached). */
  beginPass(encoder: GPUCommandEncoder, owner: string): GPUComputePassEncoder {
    const desc: GPUComputePassDescriptor = { label: `${owner}.pass` };
    const ts = this.profiler?.timestampWrites(owner);
    if (ts) desc.timestampWrites = ts;
    return encoder.beginComputePass(desc);
  }

  dispatch(
    pass: GPUComputePassEncoder,
    spec: KernelSpec,
    buffers: readonly GPUBuffer[],
    groups: readonly number[],
  ): void {
    const c = this.compile(spec);
    if (buffers.length !== spec.bindings.length) {
      throw new Error(`${spec.shader}.${spec.entry}: ${spec.bindings.length} bindings expected, got ${buffers.length}`);
    }
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, this.bindGroup(c, spec, buffers));
    this.counts.dispatches++;
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
  }

  /**
   * One pass of a wrapper call, encoded into the door's pending encoder (submitted by the next
   * read-back or `door.flush()`, at the latest in a microtask).
   */
  run(owner: string, encode: (pass: GPUComputePassEncoder) => void, after?: (enc: GPUCommandEncoder) => void): void {
    const encoder = this.door.encoder();
    const pass = this.beginPass(encoder, owner);
    this.counts.passes++;
    encode(pass);
    pass.end();
    after?.(encoder);
  }
}
