import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/divprune_select.wgsl: DivPrune's greedy max–min diversity
 * (vbdi/divprune, `DivPrune()` in llava_arch.py), f64 accumulation.
 *
 * dist_ij = 1 − cos(x_i, x_j) over the visual rows (V, D).
 *   pick 0: argmax_j of the nearest-neighbour distance min_{i≠j} dist_ij (the reference's
 *           second-smallest value of column j, the smallest being the token itself);
 *   pick t: argmax_j over unpicked j of min_{s picked} dist_sj.
 * Ties → lower index (torch.argmax returns the first maximum). Returns the k picks sorted
 * ascending (sequence order). Defined where the reference is not: a picked token is never
 * picked again (the reference relies on dist_jj ≈ 0, which fails for duplicate rows), a
 * zero row has cosine 0 with everything (the reference gives NaN), V = 1 picks token 0.
 */
export function validateDivprune(V: number, k: number): void {
  if (!Number.isInteger(k) || k < 0 || k > V)
    throw new KernelInputError('diversitySelect', 'k', `integer in 0..${V}`, `${k}`);
}

export function cosineDistanceMatrix(visual: ArrayLike<number>, V: number, D: number): Float64Array {
  const norms = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += visual[i * D + d] * visual[i * D + d];
    norms[i] = Math.sqrt(s);
  }
  const dist = new Float64Array(V * V);
  for (let i = 0; i < V; i++) {
    for (let j = i; j < V; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += visual[i * D + d] * visual[j * D + d];
      const n = norms[i] * norms[j];
      dist[i * V + j] = dist[j * V + i] = 1 - (n > 0 ? dot / n : 0);
    }
  }
  return dist;
}

export function divpruneFromDistances(
  dist: ArrayLike<number>,
  V: number,
  k: number,
): { picks: Uint32Array; keep: Uint32Array } {
  validateDivprune(V, k);
  const picks = new Uint32Array(k);
  if (k === 0) return { picks, keep: new Uint32Array(0) };
  const minDist = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    let m = Infinity;
    for (let i = 0; i < V; i++) if (i !== j) m = Math.min(m, dist[i * V + j]);
    minDist[j] = V === 1 ? 0 : m;
  }
  const picked = new Uint8Array(V);
  for (let t = 0; t < k; t++) {
    let best = -1;
    for (let j = 0; j < V; j++) if (!picked[j] && (best < 0 || minDist[j] > minDist[best])) best = j;
    picks[t] = best;
    picked[best] = 1;
    // After the first pick the score is the min distance to the picked set.
    for (let j = 0; j < V; j++) minDist[j] = t === 0 ? dist[best * V + j] : Math.min(minDist[j], dist[best * V + j]);
  }
  return { picks, keep: picks.slice().sort() };
}

export function divpruneSelectReference(visual: ArrayLike<number>, V: number, D: number, k: number) {
  return divpruneFromDistances(cosineDistanceMatrix(visual, V, D), V, k);
}
