/**
 * CPU twin of shaders/rank_estimate.wgsl: numerical rank of a block (R, V) with the
 * numpy/torch `matrix_rank` default tolerance σ_max · max(R, V) · ε_f32 (ε = 2^−23, the
 * reference calls matrix_rank on an f32 tensor). Singular values by one-sided (Hestenes)
 * Jacobi in f64 on the rows of the smaller side; σ_i = ‖row_i‖ after convergence.
 */
export const EPS_F32 = 2 ** -23;

export function singularValuesReference(block: ArrayLike<number>, rows: number, cols: number): Float64Array {
  // Orthogonalise the n vectors of length m, n = min(rows, cols).
  const transpose = rows > cols;
  const n = transpose ? cols : rows;
  const m = transpose ? rows : cols;
  const a = new Float64Array(n * m);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (transpose) a[j * m + i] = block[i * cols + j];
      else a[i * m + j] = block[i * cols + j];
    }
  }
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < m; k++) {
          const x = a[p * m + k];
          const y = a[q * m + k];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < m; k++) {
          const x = a[p * m + k];
          const y = a[q * m + k];
          a[p * m + k] = c * x - s * y;
          a[q * m + k] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < m; k++) s += a[i * m + k] * a[i * m + k];
    sigma[i] = Math.sqrt(s);
  }
  return sigma.sort().reverse();
}

export function rankFromSingularValues(sigma: ArrayLike<number>, rows: number, cols: number): number {
  let max = 0;
  for (let i = 0; i < sigma.length; i++) max = Math.max(max, sigma[i]);
  const tol = max * Math.max(rows, cols) * EPS_F32;
  let rank = 0;
  for (let i = 0; i < sigma.length; i++) if (sigma[i] > tol) rank++;
  return rank;
}

export function rankEstimateReference(block: ArrayLike<number>, rows: number, cols: number): number {
  if (rows === 0 || cols === 0) return 0;
  return rankFromSingularValues(singularValuesReference(block, rows, cols), rows, cols);
}
