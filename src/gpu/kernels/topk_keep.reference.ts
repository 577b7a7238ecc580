import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/topk_keep.wgsl. order = all indices by descending score, ties → lower
 * index first (rank_i = #{j : s_j > s_i or (s_j = s_i and j < i)}); keep = the first k of
 * order re-sorted ascending (sequence order). Scores must be finite.
 */
export function topkKeepReference(scores: ArrayLike<number>, k: number): { keep: Uint32Array; order: Uint32Array } {
  const V = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > V) throw new KernelInputError('topkKeep', 'k', `integer in 0..${V}`, `${k}`);
  const order = Uint32Array.from({ length: V }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const keep = order.slice(0, k).sort();
  return { keep, order };
}
