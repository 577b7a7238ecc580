import type { KernelRunner, KernelSpec } from '../runner';
import { groups1d } from '../runner';
import type { DpcVariant } from './dpc_knn_merge.reference';
import { validateDpc } from './dpc_knn_merge.reference';

/**
 * Wrapper of shaders/dpc_knn_merge.wgsl. hidden (L, D), cand (N) u32 → merged (C, D),
 * assignment (N) u32, centres (C) u32 (copied out of the kernel's packed id buffer).
 */
export class DpcKnnMergeKernel {
  static readonly owner = 'DpcKnnMerge';
  private readonly bindings = ['uniform', 'read', 'read', 'write', 'write', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const bindings = ['uniform', 'read', 'read', 'write', 'write', 'write', 'write'] as const;
    return ['pairwise', 'density', 'pair_max', 'delta', 'centres', 'assign', 'merge'].map((entry) => ({
      shader: 'dpc_knn_merge' as const,
      entry,
      bindings,
    }));
  }

  constructor(private readonly runner: KernelRunner) {}

  run(
    hidden: GPUBuffer,
    D: number,
    cand: GPUBuffer,
    N: number,
    C: number,
    variant: DpcVariant,
    out: { merged: GPUBuffer; assignment: GPUBuffer; centers: GPUBuffer },
  ): void {
    validateDpc(N, C);
    const { runner } = this;
    const pool = runner.door.pool;
    const owner = DpcKnnMergeKernel.owner;
    const flags =
      (variant.assignment === 'cosine' ? 1 : 0) |
      (variant.merge === 'sum' ? 2 : 0) |
      (variant.densestDelta === 'row-max' ? 4 : 0);
    const params = runner.uniform(owner, [N, D, C, flags]);
    const pair = pool.acquire(2 * N * N * 4, `${owner}.pair`);
    const stats = pool.acquire((3 * N + 1) * 4, `${owner}.stats`);
    const ids = pool.acquire((2 * N + C) * 4, `${owner}.ids`);
    const spec = (entry: string) => ({ shader: 'dpc_knn_merge' as const, entry, bindings: this.bindings });
    runner.run(
      owner,
      (pass) => {
        const bufs = [params, hidden, cand, pair, stats, ids, out.merged];
        const perToken = [Math.ceil(N / 64)];
        runner.dispatch(pass, spec('pairwise'), bufs, [N, N]);
        runner.dispatch(pass, spec('density'), bufs, [N]);
        runner.dispatch(pass, spec('pair_max'), bufs, [1]);
        for (const entry of ['delta', 'centres', 'assign']) runner.dispatch(pass, spec(entry), bufs, perToken);
        runner.dispatch(pass, spec('merge'), bufs, groups1d(C * D, 64));
      },
      (enc) => {
        enc.copyBufferToBuffer(ids, N * 4, out.centers, 0, C * 4);
        enc.copyBufferToBuffer(ids, (N + C) * 4, out.assignment, 0, N * 4);
      },
    );
    for (const b of [params, pair, stats, ids]) pool.release(b);
  }
}
