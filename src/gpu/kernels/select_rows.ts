import type { KernelRunner, KernelSpec } from '../runner';
import { KernelInputError } from './errors';

/** Wrapper of shaders/select_rows.wgsl: out[i] = src[start + i] + add (u32), i < count. */
export class SelectRowsKernel {
  static readonly owner = 'SelectRows';

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    return [{ shader: 'select_rows', entry: 'main', bindings: ['uniform', 'read', 'write'] }];
  }

  constructor(private readonly runner: KernelRunner) {}

  /** src holds `length` u32 words; out must hold `count`. */
  run(src: GPUBuffer, length: number, start: number, count: number, add: number, out: GPUBuffer): void {
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > length) {
      throw new KernelInputError('selectRows', 'src', `≥ ${start + count} elements`, `${length}`);
    }
    if (count === 0) return;
    const { runner } = this;
    const params = runner.uniform(SelectRowsKernel.owner, [start, count, add]);
    runner.run(SelectRowsKernel.owner, (pass) => {
      runner.dispatch(pass, SelectRowsKernel.specs()[0], [params, src, out], [Math.ceil(count / 64)]);
    });
    runner.door.pool.release(params);
  }
}
