import type { BDtype, BTensor } from '../prune/backend';

/**
 * A GPU tensor: a buffer (from the pool, or ORT's when wrapped) with a shape. Buffers may
 * be larger than the shape (pool size classes, ORT's own rounding); kernels index by shape.
 */
export class GpuTensor implements BTensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: BDtype,
  ) {}

  get elements(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get bytes(): number {
    return this.elements * 4;
  }
}
