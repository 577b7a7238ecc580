import type { KernelRunner, KernelSpec } from '../runner';

/** Wrapper of shaders/rank_estimate.wgsl: block (R, V) → rank and singular values (one read-back). */
export class RankEstimateKernel {
  static readonly owner = 'RankEstimate';
  private readonly bindings = ['uniform', 'read', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const bindings = ['uniform', 'read', 'write', 'write'] as const;
    return ['prepare', 'jacobi', 'finish'].map((entry) => ({ shader: 'rank_estimate' as const, entry, bindings }));
  }

  constructor(private readonly runner: KernelRunner) {}

  async run(block: GPUBuffer, R: number, V: number): Promise<{ rank: number; singularValues: Float32Array }> {
    if (R === 0 || V === 0) return { rank: 0, singularValues: new Float32Array(0) };
    const { runner } = this;
    const pool = runner.door.pool;
    const owner = RankEstimateKernel.owner;
    const n = Math.min(R, V);
    const params = runner.uniform(owner, [R, V]);
    const work = pool.acquire(R * V * 4, `${owner}.work`);
    const out = pool.acquire((1 + n) * 4, `${owner}.out`);
    runner.run(owner, (pass) => {
      const bufs = [params, block, work, out];
      for (const entry of ['prepare', 'jacobi', 'finish']) {
        runner.dispatch(pass, { shader: 'rank_estimate', entry, bindings: this.bindings }, bufs, [1]);
      }
    });
    pool.release(params);
    pool.release(work);
    const bytes = await runner.door.readbacks.read(out, 0, (1 + n) * 4, `${owner}.staging`);
    pool.release(out);
    return { rank: new Uint32Array(bytes, 0, 1)[0], singularValues: new Float32Array(bytes, 4, n).slice() };
  }
}
