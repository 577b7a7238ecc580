/**
 * Rotary embedding from explicit positions, causal-by-cache-order attention with a KV cache
 * and grouped-query heads, and plain bidirectional attention for vision towers. Plain opset-17
 * ops only, so every backend runs them and they match transformers' eager code closely.
 */
import { attr } from '../onnx/builder';
import { toFloat16 } from '../quantize';
import type { Ctx } from './common';

/** HF default rope: inv_freq[i] = 1 / θ^(2i/hd), computed in f32 as torch does. */
export function ropeInvFreq(theta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = 1 / Math.fround(Math.pow(theta, exponent));
  }
  return out;
}

export interface Rotary {
  cos: string; // [1, 1, S, hd] act dtype
  sin: string; // [1, 1, S, hd]
}

/** cos/sin of position·inv_freq, duplicated over both halves (HF `cat((freqs, freqs))`). */
export function rotaryTables(ctx: Ctx, positionIds: string, theta: number, headDim: number): Rotary {
  const { g } = ctx;
  const invFreq = g.f32('rope.inv_freq', ropeInvFreq(theta, headDim), [headDim / 2]);
  const pos = g.op('Cast', [positionIds], { to: attr.int(1) }, 'pos_f32'); // [1,S]
  const freqs = g.op('Mul', [g.op('Unsqueeze', [pos, g.constI64([2])]), invFreq], undefined, 'freqs'); // [1,S,hd/2]
  const emb = g.op('Concat', [freqs, freqs], { axis: attr.int(-1) }); // [1,S,hd]
  const toHeads = (x: string) => ctx.toAct(g.op('Unsqueeze', [x, g.constI64([1])])); // [1,1,S,hd]
  return { cos: toHeads(g.op('Cos', [emb], undefined, 'cos')), sin: toHeads(g.op('Sin', [emb], undefined, 'sin')) };
}

/** x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x₂, x₁); x [1, heads, S, hd]. */
export function applyRotary(ctx: Ctx, x: string, rot: Rotary, headDim: number): string {
  const { g } = ctx;
  const half = g.constI64([headDim / 2, headDim / 2]);
  const [x1, x2] = g.node('Split', [x, half], { outputs: 2, attrs: { axis: attr.int(-1) }, hint: 'rope_split' });
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: attr.int(-1) }, 'rotate_half');
  return g.op('Add', [g.op('Mul', [x, rot.cos]), g.op('Mul', [rotated, rot.sin])], undefined, 'rope');
}

/** [1, Hkv, T, hd] → [1, Hkv·groups, T, hd], each kv head repeated `groups` times (HF repeat_kv). */
export function repeatKv(ctx: Ctx, x: string, kvHeads: number, groups: number, headDim: number): string {
  if (groups === 1) return x;
  const { g } = ctx;
  const x5 = g.op('Unsqueeze', [x, g.constI64([2])]); // [1,Hkv,1,T,hd]
  const expanded = g.op('Expand', [x5, g.constI64([1, 1, groups, 1, 1])]); // [1,Hkv,groups,T,hd]
  return g.op('Reshape', [expanded, g.constI64([0, kvHeads * groups, -1, headDim])], undefined, 'repeat_kv');
}

/**
 * Causal mask by cache order for S new queries against T = P + S keys: query i (cache index
 * P+i) sees keys 0..P+i. Returns a bool [S, T]. Positions play no part here.
 */
export function causalAllowed(ctx: Ctx, hidden: string, presentKey: string): string {
  const { g } = ctx;
  const s = g.op('Shape', [hidden], { start: attr.int(1), end: attr.int(2) }); // [1]
  const t = g.op('Shape', [presentKey], { start: attr.int(2), end: attr.int(3) }); // [1]
  const p = g.op('Sub', [t, s]);
  const zero = g.constI64([0], true);
  const one = g.constI64([1], true);
  const squeeze = (v: string) => g.op('Squeeze', [v, g.constI64([0])]);
  const rows = g.op('Add', [g.op('Range', [zero, squeeze(s), one]), p]); // [S] cache index of each query
  const cols = g.op('Range', [zero, squeeze(t), one]); // [T]
  const rowsCol = g.op('Unsqueeze', [rows, g.constI64([1])]); // [S,1]
  const colsRow = g.op('Unsqueeze', [cols, g.constI64([0])]); // [1,T]
  return g.op('LessOrEqual', [colsRow, rowsCol], undefined, 'causal'); // [S,T]
}

/**
 * softmax(q·kᵀ·scale [+mask]) · v. q [1,H,S,hd], k/v [1,H,T,hd] → [1,H,S,hd].
 * Scores and softmax run in f32 whatever the activation dtype.
 */
export function attend(ctx: Ctx, q: string, k: string, v: string, scale: number, allowed?: string): string {
  const { g } = ctx;
  const kt = g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
  const scores = g.op('Mul', [ctx.toF32(g.op('MatMul', [q, kt], undefined, 'qk')), g.constScalar(scale, 'float32', toFloat16)]);
  const masked = allowed ? g.op('Where', [allowed, scores, g.constScalar(-Infinity, 'float32', toFloat16)], undefined, 'mask') : scores;
  const probs = ctx.toAct(g.op('Softmax', [masked], { axis: attr.int(-1) }));
  return g.op('MatMul', [probs, v], undefined, 'attn');
}
