import type { KernelRunner, KernelSpec } from '../runner';
import { validateDivprune } from './divprune_select.reference';

/** Wrapper of shaders/divprune_select.wgsl: visual (V, D) → k indices ascending (u32). */
export class DivpruneSelectKernel {
  static readonly owner = 'DivpruneSelect';
  private readonly bindings = ['uniform', 'read', 'write', 'write', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const bindings = ['uniform', 'read', 'write', 'write', 'write', 'write'] as const;
    return ['norms_of_rows', 'distance', 'greedy', 'sort_picks'].map((entry) => ({
      shader: 'divprune_select' as const,
      entry,
      bindings,
    }));
  }

  constructor(private readonly runner: KernelRunner) {}

  /** Writes the picks into `keep` (k words, ascending); `order` (k words, picking order) optional. */
  run(visual: GPUBuffer, V: number, D: number, k: number, keep: GPUBuffer, order?: GPUBuffer): void {
    validateDivprune(V, k);
    if (k === 0) return;
    const { runner } = this;
    const pool = runner.door.pool;
    const owner = DivpruneSelectKernel.owner;
    const params = runner.uniform(owner, [V, D, k]);
    const norms = pool.acquire(V * 4, `${owner}.norms`);
    const dist = pool.acquire(V * V * 4, `${owner}.dist`);
    const state = pool.acquire(V * 4, `${owner}.state`);
    const picks = pool.acquire(2 * k * 4, `${owner}.picks`);
    const spec = (entry: string) => ({ shader: 'divprune_select' as const, entry, bindings: this.bindings });
    runner.run(
      owner,
      (pass) => {
        const bufs = [params, visual, norms, dist, state, picks];
        runner.dispatch(pass, spec('norms_of_rows'), bufs, [Math.ceil(V / 256)]);
        runner.dispatch(pass, spec('distance'), bufs, [Math.ceil(V / 16), Math.ceil(V / 16)]);
        runner.dispatch(pass, spec('greedy'), bufs, [1]);
        runner.dispatch(pass, spec('sort_picks'), bufs, [Math.ceil(k / 256)]);
      },
      (enc) => {
        enc.copyBufferToBuffer(picks, k * 4, keep, 0, k * 4);
        if (order) enc.copyBufferToBuffer(picks, 0, order, 0, k * 4);
      },
    );
    for (const b of [params, norms, dist, state, picks]) pool.release(b);
  }
}
