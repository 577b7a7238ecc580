import type { KernelRunner, KernelSpec } from '../runner';
import { groups1d } from '../runner';

/** Wrapper of shaders/gather_tokens.wgsl: out[i] = rows[i] < L ? src[rows[i]] : extra[rows[i] − L]. */
export class GatherTokens {
  static readonly owner = 'GatherTokens';
  private readonly spec = {
    shader: 'gather_tokens',
    entry: 'main',
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
  } as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    return [{ shader: 'gather_tokens', entry: 'main', bindings: ['uniform', 'read', 'read', 'read', 'write'] }];
  }

  constructor(private readonly runner: KernelRunner) {}

  /** src (L, W), extra (C, W) or null, rows (n) u32 → out (n, W); out must hold n·W words. */
  run(
    src: GPUBuffer,
    L: number,
    extra: GPUBuffer | null,
    C: number,
    rows: GPUBuffer,
    n: number,
    W: number,
    out: GPUBuffer,
  ): void {
    const { runner } = this;
    const pool = runner.door.pool;
    const params = runner.uniform(GatherTokens.owner, [L, C, W, n]);
    const dummy = extra ? null : pool.acquire(16, `${GatherTokens.owner}.noExtra`);
    runner.run(GatherTokens.owner, (pass) => {
      if (n * W > 0) runner.dispatch(pass, this.spec, [params, src, extra ?? dummy!, rows, out], groups1d(n * W, 256));
    });
    pool.release(params);
    if (dummy) pool.release(dummy);
  }
}
