import type { KernelRunner, KernelSpec } from '../runner';
import { groups1d } from '../runner';

/**
 * Wrapper of shaders/cast_f16.wgsl: half activations (two per word) → f32 for our kernels
 * (`toF32`), and f32 rows → half for the graph (`toF16`). `n` elements; dst holds n f32
 * words (toF32) or ceil(n / 2) words (toF16).
 */
export class CastF16Kernel {
  static readonly owner = 'CastF16';

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    return ['to_f32', 'to_f16'].map((entry) => ({
      shader: 'cast_f16' as const,
      entry,
      bindings: ['uniform', 'read', 'write'] as const,
    }));
  }

  constructor(private readonly runner: KernelRunner) {}

  toF32(src: GPUBuffer, count: number, dst: GPUBuffer): void {
    this.run(0, src, count, dst, count);
  }

  toF16(src: GPUBuffer, count: number, dst: GPUBuffer): void {
    this.run(1, src, count, dst, Math.ceil(count / 2));
  }

  private run(entry: 0 | 1, src: GPUBuffer, count: number, dst: GPUBuffer, invocations: number): void {
    if (count === 0) return;
    const { runner } = this;
    const params = runner.uniform(CastF16Kernel.owner, [count]);
    runner.run(CastF16Kernel.owner, (pass) => {
      runner.dispatch(pass, CastF16Kernel.specs()[entry], [params, src, dst], groups1d(invocations, 256));
    });
    runner.door.pool.release(params);
  }
}
