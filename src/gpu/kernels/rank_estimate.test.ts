import { describe, expect, it } from 'vitest';
import { expectClose, gaussian, gpuBackend, rng } from '../testing/harness';
import { rankEstimateReference, singularValuesReference } from './rank_estimate.reference';

/** rows × cols block with prescribed singular values (orthonormal factors by Gram–Schmidt, f64). */
function withSingularValues(rows: number, cols: number, sigma: number[], seed: number): Float32Array {
  const ortho = (n: number, len: number, s: number) => {
    const g = gaussian(n * len, s);
    const q: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const v = Float64Array.from(g.subarray(i * len, i * len + len));
      for (const u of q) {
        let d = 0;
        for (let k = 0; k < len; k++) d += u[k] * v[k];
        for (let k = 0; k < len; k++) v[k] -= d * u[k];
      }
      const n2 = Math.hypot(...v);
      q.push(v.map((x) => x / n2));
    }
    return q;
  };
  const U = ortho(sigma.length, rows, seed);
  const W = ortho(sigma.length, cols, seed + 1);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      sigma.forEach((sv, r) => (s += sv * U[r][i] * W[r][j]));
      out[i * cols + j] = s;
    }
  }
  return out;
}

describe('rank_estimate.wgsl', () => {
  it('rank of rater × visual blocks (20 × 576): full, low-rank, duplicates, transposed, zero', async () => {
    const { be, faults } = await gpuBackend();
    const r = rng(5);
    // Attention-like: positive rows summing to < 1.
    const attn = Float32Array.from({ length: 20 * 576 }, () => r() / 576);
    const cases: { name: string; rows: number; cols: number; data: Float32Array; rank: number }[] = [
      { name: 'attention-like 20×576', rows: 20, cols: 576, data: attn, rank: 20 },
      {
        name: 'rank 7 of 20×576',
        rows: 20,
        cols: 576,
        data: withSingularValues(20, 576, [5, 4, 3, 2, 1, 0.5, 0.01], 9),
        rank: 7,
      },
      // σ = 1e-3 is 14× above the tolerance 576·2^-23; 1e-6 is 70× below it.
      {
        name: 'small σ kept, tiny σ dropped',
        rows: 20,
        cols: 576,
        data: withSingularValues(20, 576, [1, 0.5, 1e-3, 1e-6], 13),
        rank: 3,
      },
      {
        name: 'transposed 30×12 rank 5',
        rows: 30,
        cols: 12,
        data: withSingularValues(30, 12, [3, 2, 1, 1, 0.1], 17),
        rank: 5,
      },
      { name: 'one row', rows: 1, cols: 577, data: gaussian(577, 3), rank: 1 },
      { name: 'zero block', rows: 4, cols: 9, data: new Float32Array(36), rank: 0 },
    ];
    // Duplicate rows: rows 10..19 copy rows 0..9.
    const dup = attn.slice();
    dup.copyWithin(10 * 576, 0, 10 * 576);
    cases.push({ name: 'duplicated rows', rows: 20, cols: 576, data: dup, rank: 10 });
    for (const c of cases) {
      expect(rankEstimateReference(c.data, c.rows, c.cols), `${c.name} (reference)`).toBe(c.rank);
      const t = be.upload(c.data, [c.rows, c.cols]);
      const got = await be.rankWithSingularValues(t);
      expect(got.rank, c.name).toBe(c.rank);
      // Singular values above the tolerance agree with the f64 reference.
      const want = singularValuesReference(c.data, c.rows, c.cols);
      const sorted = Float64Array.from(got.singularValues).sort().reverse();
      const tol = (want[0] ?? 0) * Math.max(c.rows, c.cols) * 2 ** -23;
      expectClose(`${c.name} σ`, sorted.slice(0, c.rank), want.slice(0, c.rank), 1e-4, tol);
      if (c.name === 'one row') expect(await be.rankEstimate(t)).toBe(c.rank); // the interface path
      be.release(t);
    }
    expect(faults).toEqual([]);
  });
});
