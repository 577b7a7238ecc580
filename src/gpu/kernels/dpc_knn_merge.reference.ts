import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/dpc_knn_merge.wgsl (SPARSEVLM.md step 3), f64 accumulation.
 *
 * Over N candidate rows x_i = hidden[candidates[i]] (D wide, candidates in descending
 * score order):
 *   d_ij = ‖x_i − x_j‖ / √D from differences (not the Gram shortcut: parity with the code)
 *   ρ_i  = exp(−mean of d² over the k = C nearest, itself included)
 *   δ_i  = min d_ij over j with ρ_j > ρ_i (strict); with none: the global max pairwise d
 *          ('global-max', code) or max_j d_ij ('row-max', paper)
 *   centres = top C by ρ·δ, descending, ties → lower candidate index
 *   assignment: a centre joins its own cluster; any other token the centre with the
 *          smallest d (euclidean, code) or largest cosine similarity (paper); ties → lower
 *          cluster id
 *   merged_c = mean of members (code) or sum (paper).
 * Deviations from the reference, on purpose: no rand·1e−6 density noise (below fp16
 * resolution, so the reference's ρ ties stand as well: with k = 2 the densest tokens are
 * always a mutual-nearest pair, equal in ρ, and both take the fallback δ and become the
 * first two centres, ties → lower index); the mean divides by the count exactly (the
 * reference uses count + 1e−6). kNN ties: the k smallest distances by value (their sum is
 * the same whichever tied neighbour is taken). A zero row has cosine 0 with everything.
 */
export interface DpcVariant {
  assignment: 'euclidean' | 'cosine';
  merge: 'mean' | 'sum';
  densestDelta: 'global-max' | 'row-max';
}

export interface DpcResult {
  merged: Float32Array; // (C, D)
  assignment: Uint32Array; // (N) cluster ids
  centers: Uint32Array; // (C) candidate indices
  /** Diagnostics for tests: distances (N, N), ρ, δ, ρ·δ. */
  distance: Float64Array;
  density: Float64Array;
  delta: Float64Array;
  score: Float64Array;
}

export function validateDpc(N: number, clusters: number): void {
  if (N < 1) throw new KernelInputError('dpcKnnMerge', 'candidates', '≥ 1 row', `${N}`);
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > N) {
    throw new KernelInputError('dpcKnnMerge', 'clusters', `integer in 1..${N}`, `${clusters}`);
  }
}

export function dpcKnnMergeReference(
  hidden: Float32Array, // (L, D)
  hiddenDim: number,
  candidates: ArrayLike<number>, // (N)
  clusters: number,
  variant: DpcVariant,
): DpcResult {
  const N = candidates.length;
  const D = hiddenDim;
  const C = clusters;
  validateDpc(N, C);
  const rowsInHidden = Math.floor(hidden.length / D);
  for (let i = 0; i < N; i++) {
    if (candidates[i] >= rowsInHidden) throw new KernelInputError('dpcKnnMerge', `candidates[${i}]`, `< ${rowsInHidden}`, `${candidates[i]}`);
  }
  const row = (i: number) => candidates[i] * D;
  const distance = new Float64Array(N * N);
  const dots = new Float64Array(N * N);
  let globalMax = 0;
  for (let i = 0; i < N; i++) {
    for (let j = i; j < N; j++) {
      let sq = 0;
      let dot = 0;
      for (let d = 0; d < D; d++) {
        const a = hidden[row(i) + d];
        const b = hidden[row(j) + d];
        sq += (a - b) * (a - b);
        dot += a * b;
      }
      const dist = i === j ? 0 : Math.sqrt(sq) / Math.sqrt(D);
      distance[i * N + j] = distance[j * N + i] = dist;
      dots[i * N + j] = dots[j * N + i] = dot;
      globalMax = Math.max(globalMax, dist);
    }
  }
  const density = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const sq = Array.from(distance.subarray(i * N, i * N + N), (d) => d * d).sort((a, b) => a - b);
    let s = 0;
    for (let n = 0; n < C; n++) s += sq[n];
    density[i] = Math.exp(-s / C);
  }
  const delta = new Float64Array(N);
  const score = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let rowMax = 0;
    for (let j = 0; j < N; j++) {
      rowMax = Math.max(rowMax, distance[i * N + j]);
      if (density[j] > density[i]) best = Math.min(best, distance[i * N + j]);
    }
    delta[i] = best === Infinity ? (variant.densestDelta === 'global-max' ? globalMax : rowMax) : best;
    score[i] = density[i] * delta[i];
  }
  const centers = new Uint32Array(C);
  const clusterOf = new Int32Array(N).fill(-1);
  for (let i = 0; i < N; i++) {
    let rank = 0;
    for (let j = 0; j < N; j++) if (score[j] > score[i] || (score[j] === score[i] && j < i)) rank++;
    if (rank < C) {
      centers[rank] = i;
      clusterOf[i] = rank;
    }
  }
  const assignment = new Uint32Array(N);
  for (let i = 0; i < N; i++) {
    if (clusterOf[i] >= 0) {
      assignment[i] = clusterOf[i];
      continue;
    }
    let best = 0;
    let bestValue = variant.assignment === 'euclidean' ? Infinity : -Infinity;
    for (let c = 0; c < C; c++) {
      const j = centers[c];
      if (variant.assignment === 'euclidean') {
        const d = distance[i * N + j];
        if (d < bestValue) [best, bestValue] = [c, d];
      } else {
        const norm = Math.sqrt(dots[i * N + i] * dots[j * N + j]);
        const cos = norm > 0 ? dots[i * N + j] / norm : 0;
        if (cos > bestValue) [best, bestValue] = [c, cos];
      }
    }
    assignment[i] = best;
  }
  const merged = new Float32Array(C * D);
  const sums = new Float64Array(C * D);
  const counts = new Float64Array(C);
  for (let i = 0; i < N; i++) {
    const c = assignment[i];
    counts[c]++;
    for (let d = 0; d < D; d++) sums[c * D + d] += hidden[row(i) + d];
  }
  for (let c = 0; c < C; c++) {
    for (let d = 0; d < D; d++) merged[c * D + d] = variant.merge === 'mean' ? sums[c * D + d] / counts[c] : sums[c * D + d];
  }
  return { merged, assignment, centers, distance, density, delta, score };
}
