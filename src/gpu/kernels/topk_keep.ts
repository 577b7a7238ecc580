import type { KernelRunner, KernelSpec } from '../runner';
import { KernelInputError } from './errors';

/** Wrapper of shaders/topk_keep.wgsl: order (V) by descending score, keep (k) ascending. */
export class TopkKeepKernel {
  static readonly owner = 'TopkKeep';
  private readonly bindings = ['uniform', 'read', 'write', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const bindings = ['uniform', 'read', 'write', 'write', 'write'] as const;
    return ['rank', 'keep_sorted'].map((entry) => ({ shader: 'topk_keep' as const, entry, bindings }));
  }

  constructor(private readonly runner: KernelRunner) {}

  run(scores: GPUBuffer, V: number, k: number, order: GPUBuffer, keep: GPUBuffer): void {
    if (!Number.isInteger(k) || k < 0 || k > V)
      throw new KernelInputError('topkKeep', 'k', `integer in 0..${V}`, `${k}`);
    const { runner } = this;
    const pool = runner.door.pool;
    const params = runner.uniform(TopkKeepKernel.owner, [V, k]);
    const ranks = pool.acquire(V * 4, `${TopkKeepKernel.owner}.ranks`);
    const groups = [Math.ceil(V / 256)];
    runner.run(TopkKeepKernel.owner, (pass) => {
      if (V === 0) return;
      const bufs = [params, scores, ranks, order, keep];
      runner.dispatch(pass, { shader: 'topk_keep', entry: 'rank', bindings: this.bindings }, bufs, groups);
      runner.dispatch(pass, { shader: 'topk_keep', entry: 'keep_sorted', bindings: this.bindings }, bufs, groups);
    });
    pool.release(params);
    pool.release(ranks);
  }
}
