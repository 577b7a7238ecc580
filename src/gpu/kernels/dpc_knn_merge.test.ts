import { describe, expect, it } from 'vitest';
import { expectClose, gaussian, gpuBackend, rng } from '../testing/harness';
import { NO_SPREAD, dpcKnnMergeReference, type DpcVariant } from './dpc_knn_merge.reference';

const CODE: DpcVariant = { assignment: 'euclidean', merge: 'mean', densestDelta: 'global-max' };
const PAPER: DpcVariant = { assignment: 'cosine', merge: 'sum', densestDelta: 'row-max' };

/** hidden (L, D): rows drawn around `groups` random centres with per-group spread. */
function clustered(L: number, D: number, groups: number, seed: number): Float32Array {
  const r = rng(seed);
  const centres = gaussian(groups * D, seed + 1);
  const noise = gaussian(L * D, seed + 2);
  const out = new Float32Array(L * D);
  for (let i = 0; i < L; i++) {
    const g = Math.floor(r() * groups);
    const spread = 0.2 + (0.6 * ((g * 5) % groups)) / groups;
    for (let d = 0; d < D; d++) out[i * D + d] = centres[g * D + d] + spread * noise[i * D + d];
  }
  return out;
}

/**
 * The reference's decisions are clear of float noise (1e-5 relative): the C-th and (C+1)-th
 * log scores (1e-5 apart in log = 1e-5 relative in ρ·δ), each token's best and second-best
 * centre, and no two log densities within 1e-5 relative (the density order) — unless they
 * are exactly equal, which the GPU reproduces (mutual pairs) and the tie rule orders.
 */
function margins(ref: ReturnType<typeof dpcKnnMergeReference>, C: number, variant: DpcVariant) {
  const N = ref.logDensity.length;
  const scores = Array.from(ref.logScore).sort((a, b) => b - a);
  const scoreGap = C < N ? scores[C - 1] - scores[C] : Infinity;
  let densityGap = Infinity;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.abs(ref.logDensity[i] - ref.logDensity[j]);
      if (d > 0) densityGap = Math.min(densityGap, d / Math.abs(ref.logDensity[i]));
    }
  }
  let assignGap = Infinity;
  if (variant.assignment === 'euclidean') {
    for (let i = 0; i < N; i++) {
      if (Array.from(ref.centers).includes(i)) continue;
      const ds = Array.from(ref.centers, (c) => ref.distance[i * N + c]).sort((a, b) => a - b);
      if (ds.length > 1) assignGap = Math.min(assignGap, (ds[1] - ds[0]) / ds[1]);
    }
  }
  return { scoreGap, densityGap, assignGap };
}

describe('dpc_knn_merge.wgsl', () => {
  it('160 candidates × D 4096, C 17: identical centres and assignments, merged within 1e-5', async () => {
    const { be, faults } = await gpuBackend();
    const L = 700,
      D = 4096,
      N = 160,
      C = 17;
    const hidden = clustered(L, D, 24, 40);
    const r = rng(41);
    const pool = Array.from({ length: L }, (_, i) => i).sort(() => r() - 0.5);
    const candidates = pool.slice(0, N);
    const ref = dpcKnnMergeReference(hidden, D, candidates, C, CODE);
    const m = margins(ref, C, CODE);
    // f32 distances over D = 4096 carry ~1e-6 relative error: 1e-5 margins are 10× that.
    expect(m.scoreGap).toBeGreaterThan(1e-5);
    expect(m.densityGap).toBeGreaterThan(1e-5);
    expect(m.assignGap).toBeGreaterThan(1e-5);
    const h = be.upload(hidden, [L, D]);
    const cand = be.upload(Uint32Array.from(candidates), [N]);
    const got = be.dpcKnnMerge(h, cand, C, CODE);
    expect(Array.from(await be.read(got.centers))).toEqual(Array.from(ref.centers));
    expect(Array.from(await be.read(got.assignment))).toEqual(Array.from(ref.assignment));
    const scale = Math.max(...Array.from(ref.merged, Math.abs));
    expectClose('merged', (await be.read(got.merged)) as Float32Array, ref.merged, 1e-5, 1e-6 * scale);
    for (const t of [h, cand, got.merged, got.assignment, got.centers]) be.release(t);
    expect(faults).toEqual([]);
  });

  it('paper variant (cosine, sum, row-max), 37 candidates (not a multiple of 64), one-token set, k = 2 ties', async () => {
    const { be, faults } = await gpuBackend();
    const L = 90,
      D = 300;
    const hidden = clustered(L, D, 6, 50);
    const h = be.upload(hidden, [L, D]);
    const candidates = Array.from({ length: 37 }, (_, i) => (i * 7) % L);
    for (const [variant, C] of [
      [PAPER, 4],
      [CODE, 2],
      [PAPER, 2],
    ] as const) {
      const ref = dpcKnnMergeReference(hidden, D, candidates, C, variant);
      const got = be.dpcKnnMerge(h, be.upload(Uint32Array.from(candidates), [37]), C, variant);
      expect(Array.from(await be.read(got.centers)), `${variant.assignment} C=${C}`).toEqual(Array.from(ref.centers));
      expect(Array.from(await be.read(got.assignment))).toEqual(Array.from(ref.assignment));
      const scale = Math.max(...Array.from(ref.merged, Math.abs));
      expectClose('merged', (await be.read(got.merged)) as Float32Array, ref.merged, 1e-5, 1e-6 * scale);
    }
    const one = be.dpcKnnMerge(h, be.upload(Uint32Array.from([5]), [1]), 1, CODE);
    expect(Array.from(await be.read(one.centers))).toEqual([0]);
    expect(Array.from(await be.read(one.assignment))).toEqual([0]);
    expect(Array.from(await be.read(one.merged))).toEqual(Array.from(hidden.subarray(5 * D, 6 * D)));
    expect(faults).toEqual([]);
  });

  it('densities that underflow exp in f32 (mean kNN d² 160–1210): same centres as the f64 twin, decided in log space', async () => {
    const { be, faults } = await gpuBackend();
    // Clustered rows scaled ×50: every token's mean kNN d² is > 104, so exp(−mean d²) is 0
    // in f32 (still an order in f64): the old exp comparison made every token a tie on the
    // GPU, broken by index, while the twin ranked them.
    const L = 120,
      D = 96,
      N = 100,
      C = 9;
    const base = clustered(L, D, 10, 60);
    const hidden = base.map((v) => 50 * v);
    const candidates = Array.from({ length: N }, (_, i) => (i * 13) % L);
    const ref = dpcKnnMergeReference(hidden, D, candidates, C, CODE);
    expect(Math.max(...ref.logDensity), 'exp underflows in f32 for every token').toBeLessThan(-104);
    expect(
      new Set(ref.logDensity).size,
      'distinct densities (the order is decided by them, not by ties)',
    ).toBeGreaterThan(N / 2);
    const m = margins(ref, C, CODE);
    expect(m.scoreGap).toBeGreaterThan(1e-5);
    expect(m.densityGap).toBeGreaterThan(1e-5);
    const got = be.dpcKnnMerge(be.upload(hidden, [L, D]), be.upload(Uint32Array.from(candidates), [N]), C, CODE);
    expect(Array.from(await be.read(got.centers))).toEqual(Array.from(ref.centers));
    expect(Array.from(await be.read(got.assignment))).toEqual(Array.from(ref.assignment));
    expect(faults).toEqual([]);
  });

  it('tie rule: equal densities → the lower candidate index is denser (k = 2: one peak per mutual pair), duplicates score NO_SPREAD', async () => {
    const { be, faults } = await gpuBackend();
    const D = 8;
    // Rows 0..3: two mutual-nearest pairs (0,1) at distance 1 and (2,3) at distance 3, far
    // apart; row 4 = row 0 duplicated (δ = 0 for whichever of 0/4 is less dense by index).
    const rows = [
      [0, 0],
      [1, 0],
      [40, 0],
      [43, 0],
      [0, 0],
    ];
    const hidden = new Float32Array(rows.length * D);
    rows.forEach(([x, y], i) => {
      hidden[i * D] = x;
      hidden[i * D + 1] = y;
    });
    const candidates = [0, 1, 2, 3];
    const ref = dpcKnnMergeReference(hidden, D, candidates, 2, CODE);
    expect(ref.logDensity[0]).toBe(ref.logDensity[1]); // exact tie, both sides
    // 0 is the densest (tie with 1, lower index) → global-max δ; 1's denser neighbour is 0.
    expect(ref.delta[1]).toBeCloseTo(1 / Math.sqrt(D), 12);
    expect(Array.from(ref.centers)).toEqual([0, 2]);
    const got = be.dpcKnnMerge(
      be.upload(hidden, [rows.length, D]),
      be.upload(Uint32Array.from(candidates), [4]),
      2,
      CODE,
    );
    expect(Array.from(await be.read(got.centers))).toEqual([0, 2]);
    expect(Array.from(await be.read(got.assignment))).toEqual(Array.from(ref.assignment));
    const dup = dpcKnnMergeReference(hidden, D, [4, 0, 2], 2, CODE);
    expect(dup.logScore[1]).toBe(NO_SPREAD); // 0 duplicates 4, and 4 comes first
    const gotDup = be.dpcKnnMerge(
      be.upload(hidden, [rows.length, D]),
      be.upload(Uint32Array.from([4, 0, 2]), [3]),
      2,
      CODE,
    );
    expect(Array.from(await be.read(gotDup.centers))).toEqual(Array.from(dup.centers));
    expect(faults).toEqual([]);
  });
});
