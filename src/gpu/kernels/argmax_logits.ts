import type { KernelRunner } from '../runner';
import { KernelInputError } from './errors';

/**
 * Wrapper of shaders/argmax_logits.wgsl: the greedy token from logits (Vocab) f32 on the GPU,
 * so a decode step reads back 4 bytes instead of Vocab × 4 (DESIGN.md: only sampled tokens
 * and the trace come back).
 */
export class ArgmaxLogitsKernel {
  static readonly owner = 'ArgmaxLogits';
  private readonly bindings = ['uniform', 'read', 'write'] as const;

  constructor(private readonly runner: KernelRunner) {}

  /** Encode and submit argmax over the first `vocab` floats of `logits` into `out[0]` (u32). */
  run(logits: GPUBuffer, vocab: number, out: GPUBuffer): void {
    if (!Number.isInteger(vocab) || vocab < 1)
      throw new KernelInputError('argmaxLogits', 'vocab', 'integer ≥ 1', `${vocab}`);
    if (logits.size < vocab * 4)
      throw new KernelInputError('argmaxLogits', 'logits', `buffer of ≥ ${vocab * 4} bytes`, `${logits.size}`);
    const { runner } = this;
    const params = runner.uniform(ArgmaxLogitsKernel.owner, [vocab]);
    runner.run(ArgmaxLogitsKernel.owner, (pass) => {
      runner.dispatch(
        pass,
        { shader: 'argmax_logits', entry: 'main', bindings: this.bindings },
        [params, logits, out],
        [1],
      );
    });
    runner.door.pool.release(params);
  }

  /** argmax read back as one u32 through the door's counted read-back. */
  async pick(logits: GPUBuffer, vocab: number): Promise<number> {
    const pool = this.runner.door.pool;
    const out = pool.acquire(4, `${ArgmaxLogitsKernel.owner}.out`);
    try {
      this.run(logits, vocab, out);
      const bytes = await this.runner.door.readbacks.read(out, 0, 4, `${ArgmaxLogitsKernel.owner}.token`);
      return new Uint32Array(bytes)[0];
    } finally {
      pool.release(out);
    }
  }
}
