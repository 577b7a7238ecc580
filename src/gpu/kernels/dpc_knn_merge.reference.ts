import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/dpc_knn_merge.wgsl (SPARSEVLM.md step 3), f64 accumulation.
 *
 * Over N candidate rows x_i = hidden[candidates[i]] (D wide, candidates in descending
 * score order):
 *   d_ij = ‖x_i − x_j‖ / √D from differences (not the Gram shortcut: parity with the code)
 *   log ρ_i = −(mean of d² over the k = C nearest, itself included)   (ρ = exp of it)
 *   "j denser than i": log ρ_j > log ρ_i, or equal and j < i (one total order: DENSER)
 *   δ_i  = min d_ij over j denser than i; for the densest token: the global max pairwise d
 *          ('global-max', code) or max_j d_ij ('row-max', paper)
 *   log score_i = log ρ_i + ln δ_i (NO_SPREAD where δ_i = 0)
 *   centres = top C by log score, descending, ties → lower candidate index
 *   assignment: a centre joins its own cluster; any other token the centre with the
 *          smallest d (euclidean, code) or largest cosine similarity (paper); ties → lower
 *          cluster id
 *   merged_c = mean of members (code) or sum (paper).
 *
 * Log space: the reference compares ρ = exp(−mean d²) and ρ·δ. Hidden rows of a real
 * decoder are far apart (mean d² of 60–200 on a 32-layer LLaVA-1.5 shape), so exp is ~1e−27
 * and, in f32, 0 once mean d² passes ~87 (~103 with denormals, which SwiftShader flushes):
 * the GPU then saw ties where the f64 twin saw an order, and the decision came from
 * summation order. Comparing −mean d² and −mean d² + ln δ gives the same order as ρ and ρ·δ
 * wherever exp is representable (exp and ln are monotone), and a defined one everywhere.
 *
 * Deviations from the reference, on purpose: no rand·1e−6 density noise. Where ρ ≳ 1e−3
 * that noise is below fp16 resolution; where exp underflows (ρ ≪ 1e−6) it is ALL the
 * reference's ρ is, i.e. the reference picks its density peaks at random there. Its only
 * lasting effect elsewhere is to break exact ties, which DENSER breaks by index instead (the
 * lower candidate index, i.e. the higher attention score, counts as denser; with k = 2 the
 * mutual-nearest densest pair thus gives one peak, as with the noise, not two). The mean
 * divides by the count exactly (the reference uses count + 1e−6). kNN ties: the k smallest
 * distances by value (their sum is the same whichever tied neighbour is taken). A zero row
 * has cosine 0 with everything.
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
  /** Diagnostics for tests: distances (N, N), log ρ (= −mean kNN d²), ρ = exp(log ρ) (f64), δ, log ρ + ln δ. */
  distance: Float64Array;
  logDensity: Float64Array;
  density: Float64Array;
  delta: Float64Array;
  logScore: Float64Array;
}

/**
 * The log score of a token with no spread (δ = 0: a duplicate row): below every real
 * score, equal among themselves (ties → lower index). The kernel uses the same f32 value.
 */
export const NO_SPREAD = -3.0e38;

/** The density order shared with the kernel: j is denser than i (a strict total order). */
export function denser(logDensity: ArrayLike<number>, j: number, i: number): boolean {
  return logDensity[j] > logDensity[i] || (logDensity[j] === logDensity[i] && j < i);
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
    if (candidates[i] >= rowsInHidden)
      throw new KernelInputError('dpcKnnMerge', `candidates[${i}]`, `< ${rowsInHidden}`, `${candidates[i]}`);
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
  const logDensity = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const sq = Array.from(distance.subarray(i * N, i * N + N), (d) => d * d).sort((a, b) => a - b);
    let s = 0;
    for (let n = 0; n < C; n++) s += sq[n];
    logDensity[i] = -s / C;
  }
  const delta = new Float64Array(N);
  const logScore = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let rowMax = 0;
    for (let j = 0; j < N; j++) {
      rowMax = Math.max(rowMax, distance[i * N + j]);
      if (denser(logDensity, j, i)) best = Math.min(best, distance[i * N + j]);
    }
    delta[i] = best === Infinity ? (variant.densestDelta === 'global-max' ? globalMax : rowMax) : best;
    logScore[i] = delta[i] > 0 ? logDensity[i] + Math.log(delta[i]) : NO_SPREAD;
  }
  const centers = new Uint32Array(C);
  const clusterOf = new Int32Array(N).fill(-1);
  for (let i = 0; i < N; i++) {
    let rank = 0;
    for (let j = 0; j < N; j++) if (logScore[j] > logScore[i] || (logScore[j] === logScore[i] && j < i)) rank++;
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
    for (let d = 0; d < D; d++)
      merged[c * D + d] = variant.merge === 'mean' ? sums[c * D + d] / counts[c] : sums[c * D + d];
  }
  return { merged, assignment, centers, distance, logDensity, density: logDensity.map(Math.exp), delta, logScore };
}
