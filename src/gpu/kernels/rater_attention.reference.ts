import { KernelInputError, checkLength } from './errors';

/**
 * CPU twin of shaders/rater_attention.wgsl + rater_attention_reduce.wgsl (SPARSEVLM.md
 * step 2), f64 accumulation.
 *
 * For head h and query row r (cache index c = queryRows[r]): logits q·k/√hd over every key
 * 0..c (full causal denominator, max-subtracted), probability at the visual columns
 * vs..vs+V−1 (0 for a column after c). GQA: head h reads kv head ⌊h / (H/Hkv)⌋.
 * Optional v2 gravity: divide by w(Δ) = (2/√hd)·Σ_{i<hd/2} cos(Δ·θ_i), θ_i = base^(−2i/hd),
 * Δ = positions[c] − positions[k]. Optional top-h heads: the h heads with the largest sum
 * over the (R, V) block (ties → lower head index), then the mean over kept heads → block
 * (R, V) and the mean over rows → scores (V).
 *
 * query (H, Lq, hd): row i of query is cache index (Tk − Lq) + i, so a prefill query
 * (Lq = Tk) and a query of only the newest rows both work.
 */
export interface RaterAttentionDims {
  heads: number;
  kvHeads: number;
  headDim: number;
  queryLength: number; // Lq
  keyLength: number; // Tk
}

export interface RaterAttentionOptions {
  visualStart: number;
  visualCount: number;
  gravity?: { positions: Int32Array; ropeTheta: number };
  topHeads?: number;
}

export interface RaterAttentionResult {
  block: Float32Array; // (R, V)
  scores: Float32Array; // (V)
  /** Per-head block before head selection. (H, R, V) */
  perHead: Float64Array;
  /** Heads averaged, ascending. */
  keptHeads: number[];
}

export function gravityWeight(delta: number, headDim: number, ropeTheta: number): number {
  let sum = 0;
  for (let i = 0; i < headDim / 2; i++) sum += Math.cos(delta * Math.pow(ropeTheta, (-2 * i) / headDim));
  return (2 / Math.sqrt(headDim)) * sum;
}

/** The h heads with the largest sums, ties → lower index; returned ascending. */
export function selectTopHeads(headSums: ArrayLike<number>, topHeads: number): number[] {
  const heads = headSums.length;
  const kept: number[] = [];
  for (let h = 0; h < heads; h++) {
    let rank = 0;
    for (let g = 0; g < heads; g++) {
      if (headSums[g] > headSums[h] || (headSums[g] === headSums[h] && g < h)) rank++;
    }
    if (rank < topHeads) kept.push(h);
  }
  return kept;
}

export function validateRaterAttention(
  dims: RaterAttentionDims,
  opts: RaterAttentionOptions,
  rows: ArrayLike<number>,
): void {
  const { heads, kvHeads, keyLength, queryLength } = dims;
  if (kvHeads <= 0 || heads % kvHeads !== 0)
    throw new KernelInputError('raterAttention', 'key', `Hkv dividing H=${heads}`, `${kvHeads}`);
  if (opts.visualStart < 0 || opts.visualStart + opts.visualCount > keyLength) {
    throw new KernelInputError(
      'raterAttention',
      'visual range',
      `within 0..${keyLength}`,
      `${opts.visualStart}+${opts.visualCount}`,
    );
  }
  const first = keyLength - queryLength;
  for (let r = 0; r < rows.length; r++) {
    if (rows[r] < first || rows[r] >= keyLength) {
      throw new KernelInputError(
        'raterAttention',
        `queryRows[${r}]`,
        `cache index in ${first}..${keyLength - 1}`,
        `${rows[r]}`,
      );
    }
  }
  if (opts.topHeads !== undefined && (opts.topHeads < 1 || opts.topHeads > heads)) {
    throw new KernelInputError('raterAttention', 'topHeads', `1..${heads}`, `${opts.topHeads}`);
  }
}

export function raterAttentionReference(
  query: Float32Array, // (H, Lq, hd)
  key: Float32Array, // (Hkv, Tk, hd)
  queryRows: ArrayLike<number>, // (R) cache indices
  dims: RaterAttentionDims,
  opts: RaterAttentionOptions,
): RaterAttentionResult {
  const { heads, kvHeads, headDim, queryLength, keyLength } = dims;
  const { visualStart, visualCount } = opts;
  validateRaterAttention(dims, opts, queryRows);
  checkLength('raterAttention', 'query', query, heads * queryLength * headDim);
  checkLength('raterAttention', 'key', key, kvHeads * keyLength * headDim);
  const R = queryRows.length;
  const V = visualCount;
  const scale = 1 / Math.sqrt(headDim);
  const group = heads / kvHeads;
  const first = keyLength - queryLength;
  const perHead = new Float64Array(heads * R * V);
  const logits = new Float64Array(keyLength);
  // Gravity depends on (r, j) only: one table shared by every head.
  let gravity: Float64Array | null = null;
  if (opts.gravity) {
    const pos = opts.gravity.positions;
    checkLength('raterAttention', 'positions', pos, keyLength);
    gravity = new Float64Array(R * V);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < V; j++) {
        gravity[r * V + j] = gravityWeight(pos[queryRows[r]] - pos[visualStart + j], headDim, opts.gravity.ropeTheta);
      }
    }
  }
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / group);
    for (let r = 0; r < R; r++) {
      const c = queryRows[r];
      const qo = (h * queryLength + (c - first)) * headDim;
      let max = -Infinity;
      for (let k = 0; k <= c; k++) {
        const ko = (kvh * keyLength + k) * headDim;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += query[qo + d] * key[ko + d];
        logits[k] = dot * scale;
        if (logits[k] > max) max = logits[k];
      }
      let sum = 0;
      for (let k = 0; k <= c; k++) sum += Math.exp(logits[k] - max);
      for (let j = 0; j < V; j++) {
        const k = visualStart + j;
        let p = k <= c ? Math.exp(logits[k] - max) / sum : 0;
        if (gravity) p /= gravity[r * V + j];
        perHead[(h * R + r) * V + j] = p;
      }
    }
  }
  let keptHeads = Array.from({ length: heads }, (_, h) => h);
  if (opts.topHeads !== undefined) {
    const sums = new Float64Array(heads);
    for (let h = 0; h < heads; h++) for (let i = 0; i < R * V; i++) sums[h] += perHead[h * R * V + i];
    keptHeads = selectTopHeads(sums, opts.topHeads);
  }
  const block = new Float32Array(R * V);
  const scores = new Float32Array(V);
  const colSum = new Float64Array(V);
  for (let i = 0; i < R * V; i++) {
    let s = 0;
    for (const h of keptHeads) s += perHead[h * R * V + i];
    const mean = s / keptHeads.length;
    block[i] = mean;
    colSum[i % V] += mean;
  }
  for (let j = 0; j < V; j++) scores[j] = R > 0 ? colSum[j] / R : 0;
  return { block, scores, perHead, keptHeads };
}
