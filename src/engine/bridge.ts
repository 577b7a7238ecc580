/**
 * Between ORT tensors ([1, …] with a batch dim) and the prune backend's tensors (no batch dim).
 * Views, never copies: a method sees the layer's own output buffers. On the GPU, the backend
 * tensors carry the ORT output's GPUBuffer; on the CPU, its typed array.
 *
 * Dtypes are checked here, against the package's activation dtype: every activation a method
 * sees (hidden, query, key, visual and text embeddings) must be in it, and so must a result
 * going back into the graph (gather keeps its source's dtype). f16 activations are viewed as
 * f16 (half bits); the backends read them as f32 (src/gpu/README.md, "f16 activations").
 */
import type { PruneBackend } from '../prune/backend';
import { CpuTensor } from '../prune/cpuBackend';
import type { Ort, OrtTensor } from './ortEnv';
import type { BDtype, BTensor } from '../common/tensor';

export type ActivationDtype = 'float32' | 'float16';

export interface BackendBridge {
  readonly backend: PruneBackend;
  /** View of an ORT activation as a backend tensor of `shape` (batch dim dropped). Lives as long as `t`. */
  view(activation: OrtTensor, shape: number[]): BTensor;
  /** A backend result as an ORT input [1, …shape]; disposing the ORT tensor releases `b`. */
  toOrt(result: BTensor, dims: number[]): OrtTensor;
}

/** An ORT tensor or backend result whose dtype is not the one the graph runs in. */
export class BridgeDtypeError extends Error {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${what}: expected ${expected} (the package's activation dtype), got ${got}`);
    this.name = 'BridgeDtypeError';
  }
}

const BDTYPE: Record<ActivationDtype, BDtype> = { float32: 'f32', float16: 'f16' };
const ORT_TYPE: Record<BDtype, 'float32' | 'float16' | 'int32' | 'uint32'> = {
  f32: 'float32',
  f16: 'float16',
  i32: 'int32',
  u32: 'uint32',
};

/** The backend dtype of an ORT activation, checked against the package's. */
function activation(tensor: OrtTensor, act: ActivationDtype, shape: number[]): BDtype {
  if (tensor.type !== act) throw new BridgeDtypeError(`activation [${shape}]`, act, tensor.type);
  return BDTYPE[act];
}

/** A float result must be in the activation dtype to go back into the graph. */
function checkResult(tensor: BTensor, act: ActivationDtype): void {
  if ((tensor.dtype === 'f32' || tensor.dtype === 'f16') && tensor.dtype !== BDTYPE[act])
    throw new BridgeDtypeError(`result [${tensor.shape}]`, act, ORT_TYPE[tensor.dtype]);
}

export function cpuBridge(ort: Ort, backend: PruneBackend, act: ActivationDtype): BackendBridge {
  return {
    backend,
    view(tensor, shape) {
      const dtype = activation(tensor, act, shape);
      return new CpuTensor(tensor.data as Float32Array | Uint16Array, shape, dtype);
    },
    toOrt(result, dims) {
      checkResult(result, act);
      const data = (result as CpuTensor).data;
      return new ort.Tensor(ORT_TYPE[result.dtype], data, dims);
    },
  };
}

/**
 * The GPU side, against a backend whose tensors expose their `buffer` and that can wrap a
 * foreign buffer without taking ownership (`wrap`).
 */
export interface GpuBufferBackend extends PruneBackend {
  wrap(buffer: GPUBuffer, shape: readonly number[], dtype: BDtype): BTensor;
  bufferOf(tensor: BTensor): GPUBuffer;
}

export function gpuBridge(ort: Ort, backend: GpuBufferBackend, act: ActivationDtype): BackendBridge {
  return {
    backend,
    view(tensor, shape) {
      const dtype = activation(tensor, act, shape);
      return backend.wrap(tensor.gpuBuffer, shape, dtype);
    },
    toOrt(result, dims) {
      checkResult(result, act);
      return ort.Tensor.fromGpuBuffer(backend.bufferOf(result), {
        dataType: ORT_TYPE[result.dtype],
        dims,
        dispose: () => backend.release(result),
      });
    },
  };
}
