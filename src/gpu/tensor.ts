import type { BDtype, BTensor, HostArray } from '../common/tensor';

/**
 * A GPU tensor: a buffer (from the pool, or ORT's when wrapped) with a shape. Buffers may
 * be larger than the shape (pool size classes, ORT's own rounding); kernels index by shape.
 */
export class GpuTensor implements BTensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: BDtype,
    /**
     * Host copy of what was uploaded (small uploads only), so reading it back costs no
     * round trip. Dropped when the buffer leaves our control (`GpuPruneBackend.bufferOf`);
     * kernels never write into uploaded tensors (outputs are fresh pool buffers).
     */
    public host: HostArray | null = null,
  ) {}

  get elements(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes of the data (f16: 2 per element; the buffer is padded to whole words). */
  get bytes(): number {
    return this.elements * (this.dtype === 'f16' ? 2 : 4);
  }
}
