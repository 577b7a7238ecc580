/**
 * Between ORT tensors ([1, …] with a batch dim) and the prune backend's tensors (no batch dim).
 * Views, never copies: a method sees the layer's own output buffers. On the GPU, the backend
 * tensors carry the ORT output's GPUBuffer; on the CPU, its typed array.
 */
import type { BTensor, PruneBackend } from '../prune/backend';
import { CpuTensor } from '../prune/cpuBackend';
import type { Ort, OrtTensor } from './ortEnv';

export interface BackendBridge {
  readonly backend: PruneBackend;
  /** View of an ORT tensor as a backend tensor of `shape` (batch dim dropped). Lives as long as `t`. */
  view(t: OrtTensor, shape: number[]): BTensor;
  /** A backend result as an ORT input [1, …shape]; disposing the ORT tensor releases `b`. */
  toOrt(b: BTensor, dims: number[]): OrtTensor;
}

export function cpuBridge(ort: Ort, backend: PruneBackend): BackendBridge {
  return {
    backend,
    view(t, shape) {
      return new CpuTensor(t.data as Float32Array, shape, 'f32');
    },
    toOrt(b, dims) {
      const data = (b as CpuTensor).data;
      return new ort.Tensor(data instanceof Float32Array ? 'float32' : 'int32', data, dims);
    },
  };
}

/**
 * The GPU side, against a backend whose tensors expose their `buffer` and that can wrap a
 * foreign buffer without taking ownership (`wrap`).
 */
export interface GpuBufferBackend extends PruneBackend {
  wrap(buffer: GPUBuffer, shape: readonly number[], dtype: 'f32' | 'u32' | 'i32'): BTensor;
  bufferOf(t: BTensor): GPUBuffer;
}

export function gpuBridge(ort: Ort, backend: GpuBufferBackend): BackendBridge {
  return {
    backend,
    view(t, shape) {
      return backend.wrap(t.gpuBuffer, shape, 'f32');
    },
    toOrt(b, dims) {
      return ort.Tensor.fromGpuBuffer(backend.bufferOf(b), {
        dataType: b.dtype === 'f32' ? 'float32' : b.dtype === 'i32' ? 'int32' : 'uint32',
        dims,
        dispose: () => backend.release(b),
      });
    },
  };
}

/** A backend tensor that is a view of a GPUBuffer (the engine's own, until GpuPruneBackend lands). */
export class GpuView implements BTensor {
  constructor(readonly buffer: GPUBuffer, readonly shape: readonly number[], readonly dtype: 'f32' | 'u32' | 'i32', readonly owned: boolean) {}
}

/**
 * Views, uploads and reads on ORT's device with no kernels: enough for methods that never
 * compute (`none`). Any kernel call says plainly that the GPU prune backend is missing.
 * Replaced by src/gpu's GpuPruneBackend when it exists (engine.ts picks).
 */
export class GpuViewsOnly implements GpuBufferBackend {
  readonly kind = 'gpu' as const;
  constructor(private readonly device: GPUDevice) {}
  wrap(buffer: GPUBuffer, shape: readonly number[], dtype: 'f32' | 'u32' | 'i32'): BTensor { return new GpuView(buffer, shape, dtype, false); }
  bufferOf(t: BTensor): GPUBuffer { return (t as GpuView).buffer; }
  upload(data: Float32Array | Uint32Array | Int32Array, shape: readonly number[]): BTensor {
    const buffer = this.device.createBuffer({ label: 'GpuViewsOnly.upload', size: Math.ceil(Math.max(4, data.byteLength) / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data as BufferSource);
    return new GpuView(buffer, shape, data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u32', true);
  }
  async read(t: BTensor): Promise<Float32Array | Uint32Array | Int32Array> {
    const v = t as GpuView;
    const n = v.shape.reduce((a, b) => a * b, 1);
    const staging = this.device.createBuffer({ label: 'GpuViewsOnly.read', size: Math.ceil(Math.max(4, n * 4) / 16) * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(v.buffer, 0, staging, 0, n * 4);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const bytes = staging.getMappedRange().slice(0, n * 4);
    staging.destroy();
    return v.dtype === 'f32' ? new Float32Array(bytes) : v.dtype === 'i32' ? new Int32Array(bytes) : new Uint32Array(bytes);
  }
  release(t: BTensor): void { const v = t as GpuView; if (v.owned) v.buffer.destroy(); }
  private missing(kernel: string): never {
    throw new Error(`The GPU prune backend (src/gpu) is not available yet, so ${kernel} cannot run on WebGPU; use method "none" or --backend wasm.`);
  }
  raterSelect(): never { return this.missing('raterSelect'); }
  raterAttention(): never { return this.missing('raterAttention'); }
  rankEstimate(): never { return this.missing('rankEstimate'); }
  topkKeep(): never { return this.missing('topkKeep'); }
  dpcKnnMerge(): never { return this.missing('dpcKnnMerge'); }
  diversitySelect(): never { return this.missing('diversitySelect'); }
  gather(): never { return this.missing('gather'); }
}
