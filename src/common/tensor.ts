/** Backend tensors: what gpu/ (GpuTensor) and prune/ (PruneBackend, CpuTensor) both speak. Row-major; shapes without ORT's leading batch dim. */

/**
 * 'f16': IEEE half bits (Uint16Array on the host), the activations of fp16/q4f16 graphs as ORT
 * gives them. Kernels read them through a cast to f32 (src/gpu/README.md, "f16 activations");
 * `gather` keeps them f16, so the hidden states it returns go back into the graph in its dtype.
 */
export type BDtype = 'f32' | 'f16' | 'u32' | 'i32';

/** A tensor owned by a backend: typed array on the CPU backend, GPUBuffer on the GPU backend. */
export interface BTensor {
  readonly shape: readonly number[];
  readonly dtype: BDtype;
}

/** f32, u32, i32, or f16 bits (Uint16Array). */
export type HostArray = Float32Array | Uint32Array | Int32Array | Uint16Array;
