/**
 * Kernel runner: compiles each `shaders/<name>.wgsl` entry point once per device with an
 * explicit bind-group layout (binding i ↔ `bindings[i]`), and encodes dispatches.
 * Wrappers in kernels/ own their layouts and call `dispatch`.
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
}

export class KernelRunner {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, Compiled>();
  profiler: GpuProfiler | null = null;

  constructor(readonly door: GpuDoor) {}

  get device(): GPUDevice {
    return this.door.device;
  }

  private compile(spec: KernelSpec): Compiled {
    const key = `${spec.shader}:${spec.entry}:${JSON.stringify(spec.constants ?? {})}`;
    let c = this.pipelines.get(key);
    if (c) return c;
    let module = this.modules.get(spec.shader);
    if (!module) {
      module = this.device.createShaderModule({ label: `${spec.shader}.module`, code: SHADERS[spec.shader] });
      this.modules.set(spec.shader, module);
    }
    const layout = this.device.createBindGroupLayout({
      label: `${spec.shader}.${spec.entry}.layout`,
      entries: spec.bindings.map((kind, binding) => ({
        binding,
        visibility: 0x4, // GPUShaderStage.COMPUTE
        buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: `${spec.shader}.${spec.entry}`,
      layout: this.device.createPipelineLayout({ label: `${spec.shader}.${spec.entry}.pipelineLayout`, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.entry, constants: spec.constants },
    });
    c = { pipeline, layout };
    this.pipelines.set(key, c);
    return c;
  }

  /** Uniform block from 32-bit words (u32 unless listed in `floats`). */
  uniform(owner: string, words: readonly number[], floats: readonly number[] = []): GPUBuffer {
    const data = new ArrayBuffer(Math.max(16, Math.ceil(words.length / 4) * 16));
    const u = new Uint32Array(data);
    const f = new Float32Array(data);
    words.forEach((w, i) => (floats.includes(i) ? (f[i] = w) : (u[i] = w >>> 0)));
    const buf = this.door.pool.acquire(data.byteLength, `${owner}.params`, 'uniform');
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

  dispatch(pass: GPUComputePassEncoder, spec: KernelSpec, buffers: readonly GPUBuffer[], groups: readonly number[]): void {
    const { pipeline, layout } = this.compile(spec);
    if (buffers.length !== spec.bindings.length) {
      throw new Error(`${spec.shader}.${spec.entry}: ${spec.bindings.length} bindings expected, got ${buffers.length}`);
    }
    const bindGroup = this.device.createBindGroup({
      label: `${spec.shader}.${spec.entry}.bindGroup`,
      layout,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
  }

  /** One encoder, one pass, submitted: the usual shape of a wrapper call. */
  run(owner: string, encode: (pass: GPUComputePassEncoder) => void, after?: (enc: GPUCommandEncoder) => void): void {
    const encoder = this.device.createCommandEncoder({ label: `${owner}.encoder` });
    const pass = this.beginPass(encoder, owner);
    encode(pass);
    pass.end();
    after?.(encoder);
    this.device.queue.submit([encoder.finish()]);
  }
}
