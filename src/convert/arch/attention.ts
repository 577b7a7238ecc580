/**
 * Rotary embedding from explicit positions (onnxruntime's fused RotaryEmbedding: one node where
 * plain ops took six per tensor; onnxruntime-web pays a fixed CPU cost per dispatched node per
 * run), causal-by-cache-order attention with a KV cache and grouped-query heads, and plain
 * bidirectional attention for vision towers.
 *
 * Why not onnxruntime's GroupQueryAttention (4 dispatches instead of ~13): two findings on
 * onnxruntime-web 1.31-dev, 2026-11-24. (1) Its flash-attention prefill assumes subgroups of
 * 16+ and is wrong on SwiftShader (subgroup size 4: query rows ≥ 4 off by ~1e-2), where our
 * tests and many fallback users run. (2) Its length inputs are CPU inputs; computed in the graph
 * from shapes, onnxruntime ran the int32 arithmetic on WebGPU and read it back (a GPU sync per
 * layer run) unless those nodes were pinned to the CPU by name (`forceCpuNodeNames`).
 * The package keeps the plain ops; the engine may run prefill attention as one MultiHeadAttention
 * node, rewritten at load where its kernel is right (engine/prefillAttention.ts).
 */
import { MS_DOMAIN, attr } from '../../onnx/builder';
import type { Ctx } from './common';
import { f32ToF16 } from '../../common/float16';

/** HF default rope: inv_freq[i] = 1 / θ^(2i/hd), computed in f32 as torch does. */
export function ropeInvFreq(theta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    out[i] = 1 / Math.fround(Math.pow(theta, exponent));
  }
  return out;
}

/** The rope caches, [positions, hd/2] in the activation dtype. */
export interface Rotary {
  cos: string;
  sin: string;
}

/**
 * Rows of the rope tables: the model's max_position_embeddings, capped at ROPE_TABLE_CAP so a
 * 32k-context config (Qwen2) does not put 32768 rows in every layer graph (hd 64: 8 MiB f32
 * per layer). Positions must stay below it: a Gather past the table is an error on wasm and
 * undefined on WebGPU, so the package's manifest states this as its `maxPositions` and the
 * engine refuses longer prompts (engine/inputs.ts). 8192 rows · hd/2 · 2 tables: 2 MiB f32
 * (1 MiB f16) per layer at hd 64, 4 MiB / 2 MiB at hd 128.
 */
export const ROPE_TABLE_CAP = 8192;

export function ropeTablePositions(maxPositionEmbeddings: number): number {
  return Math.min(maxPositionEmbeddings, ROPE_TABLE_CAP);
}

/**
 * cos/sin of p·inv_freq for p in [0, positions), [positions, hd/2] row-major, as HF's
 * LlamaRotaryEmbedding makes them: freqs = inv_freq·p in f32 (its matmul has K = 1, so one
 * rounded f32 product), cos/sin of that f32 value evaluated in f64 and rounded to f32 (torch's
 * f32 cos/sin are within 1 ulp of this), attention_scaling 1 (rope_type default only).
 */
export function ropeTables(
  theta: number,
  headDim: number,
  positions: number,
): { cos: Float32Array; sin: Float32Array } {
  const invFreq = ropeInvFreq(theta, headDim);
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const freq = Math.fround(p * invFreq[i]);
      cos[p * half + i] = Math.cos(freq);
      sin[p * half + i] = Math.sin(freq);
    }
  }
  return { cos, sin };
}

/**
 * The rope tables as `RotaryEmbedding` caches: initializers `rope_cos` / `rope_sin`,
 * [positions, hd/2] in the activation dtype (HF casts them to x.dtype), read by the op at each
 * row's explicit position id. Precomputed rather than ONNX Cos/Sin because WGSL sin/cos are only
 * ~1e-4 accurate on some devices (SwiftShader: 1.5e-4), which moved first-step logits by ~4e-4
 * on WebGPU.
 */
export function rotaryTables(ctx: Ctx, theta: number, headDim: number, maxPositions: number): Rotary {
  const rows = ropeTablePositions(maxPositions);
  const tables = ropeTables(theta, headDim, rows);
  return {
    cos: ctx.actInit('rope_cos', tables.cos, [rows, headDim / 2]),
    sin: ctx.actInit('rope_sin', tables.sin, [rows, headDim / 2]),
  };
}

/**
 * x·cos + rotate_half(x)·sin at `positionIds` [1,S] (HF's non-interleaved rotation) as one
 * `com.microsoft` RotaryEmbedding node: x [1, S, heads·hd] → same shape.
 */
export function applyRotary(ctx: Ctx, x: string, positionIds: string, rot: Rotary, heads: number): string {
  return ctx.g.node('RotaryEmbedding', [x, positionIds, rot.cos, rot.sin], {
    domain: MS_DOMAIN,
    hint: 'rope',
    attrs: { interleaved: attr.int(0), num_heads: attr.int(heads) },
  })[0];
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
  // Scalars from shapes (int64 arithmetic: onnxruntime keeps it on the CPU), then int32 Ranges
  // and the compare on the device: the mask is made where it is used, not uploaded each run.
  const scalar = (v: string) => g.op('Cast', [g.op('Squeeze', [v, g.constI64([0])])], { to: attr.int(6) }); // int32 []
  const tt = scalar(t);
  const one = g.constI32([1], true);
  const rows = g.op('Range', [scalar(g.op('Sub', [t, s])), tt, one]); // [S] cache index of each query
  const cols = g.op('Range', [g.constI32([0], true), tt, one]); // [T]
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
  const scores = g.op('Mul', [
    ctx.toF32(g.op('MatMul', [q, kt], undefined, 'qk')),
    g.constScalar(scale, 'float32', f32ToF16),
  ]);
  const masked = allowed
    ? g.op('Where', [allowed, scores, g.constScalar(-Infinity, 'float32', f32ToF16)], undefined, 'mask')
    : scores;
  const probs = ctx.toAct(g.op('Softmax', [masked], { axis: attr.int(-1) }));
  return g.op('MatMul', [probs, v], undefined, 'attn');
}
