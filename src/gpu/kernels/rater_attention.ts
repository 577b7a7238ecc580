import type { KernelRunner, KernelSpec } from '../runner';
import { groups1d } from '../runner';
import { KernelInputError } from './errors';

export interface RaterAttentionGpuArgs {
  heads: number;
  kvHeads: number;
  headDim: number;
  queryLength: number;
  keyLength: number;
  rowCount: number;
  visualStart: number;
  visualCount: number;
  topHeads?: number;
  gravity?: { positions: GPUBuffer; ropeTheta: number };
}

/**
 * θ_i / 2π for i < hd/2 split as hi + lo, hi with 11 significant bits so that Δ·hi is exact
 * in f32 for |Δ| < 2^13 (see rater_attention.wgsl). Computed in f64 here.
 */
export function gravityTurns(headDim: number, ropeTheta: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(headDim);
  for (let i = 0; i < headDim / 2; i++) {
    const turns = Math.pow(ropeTheta, (-2 * i) / headDim) / (2 * Math.PI);
    const exp = Math.floor(Math.log2(turns));
    const quantum = 2 ** (exp - 10);
    const hi = Math.floor(turns / quantum) * quantum;
    out[2 * i] = hi;
    out[2 * i + 1] = turns - hi;
  }
  return out;
}

/**
 * Wrapper of shaders/rater_attention.wgsl + rater_attention_reduce.wgsl.
 * query (H, Lq, hd), key (Hkv, Tk, hd), rows (R) u32 cache indices → block (R, V), scores (V).
 */
export class RaterAttentionKernel {
  static readonly owner = 'RaterAttention';
  private readonly attendBindings = ['uniform', 'read', 'read', 'read', 'read', 'read', 'write', 'write'] as const;
  private readonly reduceBindings = ['uniform', 'read', 'write', 'write', 'write'] as const;

  /** Every pipeline this wrapper dispatches (for KernelRunner.warm). */
  static specs(): KernelSpec[] {
    const attend = ['uniform', 'read', 'read', 'read', 'read', 'read', 'write', 'write'] as const;
    const reduce = ['uniform', 'read', 'write', 'write', 'write'] as const;
    return [
      ...['gravity_weights', 'attend'].map((entry) => ({
        shader: 'rater_attention' as const,
        entry,
        bindings: attend,
      })),
      ...['head_sums', 'select_heads', 'head_mean', 'row_mean'].map((entry) => ({
        shader: 'rater_attention_reduce' as const,
        entry,
        bindings: reduce,
      })),
    ];
  }

  constructor(private readonly runner: KernelRunner) {}

  run(
    query: GPUBuffer,
    key: GPUBuffer,
    rows: GPUBuffer,
    args: RaterAttentionGpuArgs,
    block: GPUBuffer,
    scores: GPUBuffer,
  ): void {
    const { heads: H, kvHeads: Hkv, headDim: hd, rowCount: R, visualCount: V } = args;
    if (hd > 256) throw new KernelInputError('raterAttention', 'query', 'head dim ≤ 256', `${hd}`);
    if (H > 256) throw new KernelInputError('raterAttention', 'query', '≤ 256 heads', `${H}`);
    const { runner } = this;
    const pool = runner.door.pool;
    const owner = RaterAttentionKernel.owner;
    const params = runner.uniform(
      owner,
      [
        H,
        Hkv,
        hd,
        args.queryLength,
        args.keyLength,
        R,
        V,
        args.visualStart,
        args.gravity ? 1 : 0,
        1 / Math.sqrt(hd),
        2 / Math.sqrt(hd),
        0,
      ],
      [9, 10],
    );
    const reduceParams = runner.uniform(owner, [H, R, V, args.topHeads ?? H]);
    const turns = pool.acquire(hd * 4, `${owner}.turns`);
    if (args.gravity) runner.device.queue.writeBuffer(turns, 0, gravityTurns(hd, args.gravity.ropeTheta));
    const positions = args.gravity?.positions ?? pool.acquire(16, `${owner}.noPositions`);
    const gravity = pool.acquire(Math.max(1, R * V) * 4, `${owner}.gravity`);
    const perHead = pool.acquire(Math.max(1, H * R * V) * 4, `${owner}.perHead`);
    const headStats = pool.acquire(2 * H * 4, `${owner}.headStats`);
    runner.run(owner, (pass) => {
      if (V === 0) return;
      const reduce = [reduceParams, perHead, headStats, block, scores];
      if (R > 0) {
        const bufs = [params, query, key, rows, positions, turns, gravity, perHead];
        if (args.gravity)
          runner.dispatch(
            pass,
            { shader: 'rater_attention', entry: 'gravity_weights', bindings: this.attendBindings },
            bufs,
            groups1d(R * V, 256),
          );
        runner.dispatch(pass, { shader: 'rater_attention', entry: 'attend', bindings: this.attendBindings }, bufs, [
          R,
          H,
        ]);
        if (args.topHeads !== undefined && args.topHeads < H) {
          runner.dispatch(
            pass,
            { shader: 'rater_attention_reduce', entry: 'head_sums', bindings: this.reduceBindings },
            reduce,
            [H],
          );
        }
        runner.dispatch(
          pass,
          { shader: 'rater_attention_reduce', entry: 'select_heads', bindings: this.reduceBindings },
          reduce,
          [1],
        );
        runner.dispatch(
          pass,
          { shader: 'rater_attention_reduce', entry: 'head_mean', bindings: this.reduceBindings },
          reduce,
          groups1d(R * V, 256),
        );
      }
      runner.dispatch(
        pass,
        { shader: 'rater_attention_reduce', entry: 'row_mean', bindings: this.reduceBindings },
        reduce,
        [Math.ceil(V / 256)],
      );
    });
    for (const b of [params, reduceParams, turns, gravity, perHead, headStats]) pool.release(b);
    if (!args.gravity) pool.release(positions);
  }
}
