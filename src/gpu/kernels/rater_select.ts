import type { KernelRunner, KernelSpec } from '../runner';

/**
 * Wrapper of shaders/rater_select.wgsl. One read-back: relevance and flags together.
 * visual (V, D), text (T, D) f32 → relevance (T), raters ascending.
 */
export class RaterSelectKernel {
  static readonly owner = 'RaterSelect';
  private readonly bindings = ['uniform', 'read', 'read', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const bindings = ['uniform', 'read', 'read', 'write', 'write'] as const;
    return ['row_softmax', 'relevance'].map((entry) => ({ shader: 'rater_select' as const, entry, bindings }));
  }

  constructor(private readonly runner: KernelRunner) {}

  async run(visual: GPUBuffer, text: GPUBuffer, V: number, T: number, D: number, inclusive: boolean) {
    const { runner } = this;
    const pool = runner.door.pool;
    const params = runner.uniform(RaterSelectKernel.owner, [V, T, D, inclusive ? 1 : 0]);
    const probs = pool.acquire(Math.max(1, V * T) * 4, `${RaterSelectKernel.owner}.probs`);
    const out = pool.acquire(Math.max(1, 2 * T) * 4, `${RaterSelectKernel.owner}.out`);
    runner.run(RaterSelectKernel.owner, (pass) => {
      if (T === 0) return;
      const bufs = [params, visual, text, probs, out];
      if (V > 0)
        runner.dispatch(pass, { shader: 'rater_select', entry: 'row_softmax', bindings: this.bindings }, bufs, [V]);
      runner.dispatch(pass, { shader: 'rater_select', entry: 'relevance', bindings: this.bindings }, bufs, [
        Math.ceil(T / 64),
      ]);
    });
    pool.release(params);
    pool.release(probs);
    const bytes =
      T > 0
        ? await runner.door.readbacks.read(out, 0, 2 * T * 4, `${RaterSelectKernel.owner}.staging`)
        : new ArrayBuffer(0);
    pool.release(out);
    const relevance = new Float32Array(bytes, 0, T).slice();
    const flags = new Uint32Array(bytes, T * 4, T);
    const raters: number[] = [];
    flags.forEach((f, t) => f && raters.push(t));
    return { relevance, raters: Uint32Array.from(raters) };
  }
}
