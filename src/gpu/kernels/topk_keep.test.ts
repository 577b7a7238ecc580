import { describe, expect, it } from 'vitest';
import { gpuBackend, rng } from '../testing/harness';
import { topkKeepReference } from './topk_keep.reference';

describe('topk_keep.wgsl', () => {
  it('matches the reference: 576 random scores, ties, all-equal, sizes off the workgroup', async () => {
    const { be, faults } = await gpuBackend();
    const r = rng(7);
    const cases: { name: string; scores: number[]; k: number }[] = [
      { name: 'random 576', scores: Array.from({ length: 576 }, () => r()), k: 66 },
      { name: 'ties (quantised) 577', scores: Array.from({ length: 577 }, () => Math.floor(r() * 20) / 20), k: 300 },
      { name: 'all equal', scores: Array(300).fill(0.25), k: 17 },
      { name: 'one token', scores: [3], k: 1 },
      { name: 'keep none', scores: [1, 2, 3], k: 0 },
      { name: 'keep all 1000', scores: Array.from({ length: 1000 }, () => r() - 0.5), k: 1000 },
    ];
    for (const c of cases) {
      const s = be.upload(Float32Array.from(c.scores), [c.scores.length]);
      const { keep, order } = be.topkKeep(s, c.k);
      const want = topkKeepReference(Float32Array.from(c.scores), c.k);
      expect(Array.from(await be.read(order)), c.name).toEqual(Array.from(want.order));
      expect(Array.from(await be.read(keep)), c.name).toEqual(Array.from(want.keep));
      for (const t of [s, keep, order]) be.release(t);
    }
    expect(faults).toEqual([]);
  });
});
