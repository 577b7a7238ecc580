import { describe, expect, it } from 'vitest';
import { gaussian, gpuBackend } from '../testing/harness';
import { cosineDistanceMatrix, divpruneFromDistances } from './divprune_select.reference';

/**
 * Walks a pick sequence through the f64 greedy criterion: every pick must be the best, or
 * within `slack` of it. Returns how many steps had a runner-up within `slack` (near-ties an
 * f32 kernel could resolve either way): identical sets are asserted only when there are 0.
 */
function replay(dist: Float64Array, V: number, gpuPicks: number[], slack: number): number {
  const score = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    let m = Infinity;
    for (let i = 0; i < V; i++) if (i !== j) m = Math.min(m, dist[i * V + j]);
    score[j] = m;
  }
  const picked = new Uint8Array(V);
  let nearTies = 0;
  gpuPicks.forEach((p, t) => {
    let best = -Infinity;
    let second = -Infinity;
    for (let j = 0; j < V; j++) {
      if (picked[j]) continue;
      if (score[j] > best) [best, second] = [score[j], best];
      else if (score[j] > second) second = score[j];
    }
    expect(picked[p], `step ${t}: ${p} picked twice`).toBe(0);
    expect(best - score[p], `step ${t}: GPU picked ${p}`).toBeLessThanOrEqual(slack);
    if (best - second <= slack) nearTies++;
    picked[p] = 1;
    for (let j = 0; j < V; j++) score[j] = t === 0 ? dist[p * V + j] : Math.min(score[j], dist[p * V + j]);
  });
  return nearTies;
}

describe('divprune_select.wgsl', () => {
  // D = 1024, not 4096: the V² × D distance pass takes ~100 s at 4096 on SwiftShader (CPU);
  // the kernel has no D-dependent path beyond the tiled loop, which 1024 exercises.
  it('576 visual tokens × D 1024, keep 56: the reference greedy sequence', async () => {
    const { be, faults } = await gpuBackend();
    const V = 576,
      D = 1024,
      k = 56;
    // Row-dependent scales and a shared component so that distances spread widely.
    const visual = gaussian(V * D, 61);
    const shared = gaussian(D, 62);
    for (let i = 0; i < V; i++) for (let d = 0; d < D; d++) visual[i * D + d] += ((i % 13) / 4) * shared[d];
    const dist = cosineDistanceMatrix(visual, V, D);
    const want = divpruneFromDistances(dist, V, k);
    const t = be.upload(visual, [V, D]);
    const keep = Array.from(await be.read(be.diversitySelect(t, k)));
    // Order of picking comes from the kernel's scratch; the ascending keep set is the API.
    expect(keep).toEqual([...keep].sort((a, b) => a - b));
    const nearTies = replay(dist, V, Array.from(want.picks), 1e-6);
    expect(nearTies, 'reference near-ties (then identical sets are not required)').toBe(0);
    expect(keep).toEqual(Array.from(want.keep));
    be.release(t);
    expect(faults).toEqual([]);
  });

  it('duplicates, a zero row, k = V, V = 1, k = 0', async () => {
    const { be, faults } = await gpuBackend();
    const D = 7;
    // Rows 0 and 1 identical, row 2 zero, 3..5 random.
    const rows = gaussian(6 * D, 5);
    rows.copyWithin(D, 0, D);
    rows.fill(0, 2 * D, 3 * D);
    const t = be.upload(rows, [6, D]);
    for (const k of [3, 6]) {
      const want = divpruneFromDistances(cosineDistanceMatrix(rows, 6, D), 6, k).keep;
      expect(Array.from(await be.read(be.diversitySelect(t, k))), `k=${k}`).toEqual(Array.from(want));
    }
    expect(Array.from(await be.read(be.diversitySelect(be.upload(rows.subarray(0, D), [1, D]), 1)))).toEqual([0]);
    expect(be.diversitySelect(t, 0).shape).toEqual([0]);
    expect(faults).toEqual([]);
  });
});
