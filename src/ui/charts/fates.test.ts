import { describe, expect, it } from 'vitest';
import { locateOrigin } from '../../common/trace';
import {
  describeFate,
  groupSizes,
  imageCounts,
  imageFates,
  imageTokenLayers,
  mergedGroupsAtLayer,
  patchCount,
  patchFates,
  tokensAtLayer,
} from './fates';
import { llava64Trace, smallTrace } from './fixtures/traces';

describe('tokensAtLayer', () => {
  it('follows kept + merged tokens through the stages', () => {
    const t = smallTrace();
    expect(tokensAtLayer(t, 0)).toEqual([...Array(16).keys()]);
    expect(tokensAtLayer(t, 1)).toHaveLength(16); // stage at 1 decides after layer 1 ran
    expect(tokensAtLayer(t, 2)).toEqual([0, 1, 2, 5, 6, 9, -1, -2]);
    expect(tokensAtLayer(t, 4)).toEqual([0, 5, -1, -3]);
    expect(tokensAtLayer(t, 5)).toEqual([5, -3]);
  });
  it('gives 576 at layer 0 and 82 / 32 / 18 after the v1.5 "64" stages', () => {
    const t = llava64Trace();
    expect(patchCount(t)).toBe(576);
    expect([0, 3, 7, 16, 31].map((l) => tokensAtLayer(t, l).length)).toEqual([576, 82, 32, 18, 18]);
    // and it agrees with the engine's own count for every layer
    for (let l = 0; l < 32; l++) expect(tokensAtLayer(t, l).length).toBe(t.visualPerLayer[l]);
  });
});

describe('patchFates', () => {
  it('before any stage: all kept, scored by the first stage, with what happens later', () => {
    const f = patchFates(smallTrace(), 0);
    expect(f.every((x) => x.state === 'kept')).toBe(true);
    expect(f[0]).toMatchObject({
      token: 0,
      score: 1,
      rank: 1,
      scoreLayer: 1,
      later: { state: 'dropped', atLayer: 4, token: null },
    });
    expect(f[5].later).toBeNull(); // survives to the end
    expect(f[8].later).toEqual({ state: 'dropped', atLayer: 1, token: null });
    expect(f[3].later).toEqual({ state: 'merged', atLayer: 1, token: -1 });
    expect(f[15].rank).toBe(16);
  });
  it('after the first stage: dropped keep their last score, merged carry their token score', () => {
    const f = patchFates(smallTrace(), 2);
    expect(f[8]).toMatchObject({ state: 'dropped', atLayer: 1, token: null, score: 0.5, scoreLayer: 1, rank: 9 });
    expect(f[3]).toMatchObject({ state: 'merged', token: -1, atLayer: 1, score: 0.7, scoreLayer: 3, rank: 3 });
    expect(f[10]).toMatchObject({ state: 'merged', token: -2, score: 0.3, scoreLayer: 3 });
    expect(f[2]).toMatchObject({ state: 'kept', token: 2, score: 0.1, rank: 7 });
    expect(f[2].later).toEqual({ state: 'dropped', atLayer: 3, token: null });
    expect(f[1].later).toEqual({ state: 'merged', atLayer: 3, token: -3 });
  });
  it('a merged token merged again carries all its patches into the new token', () => {
    const f = patchFates(smallTrace(), 4);
    expect(f[10]).toMatchObject({ state: 'merged', token: -3, atLayer: 3 });
    expect(f[11]).toMatchObject({ state: 'merged', token: -3, atLayer: 3 });
    expect(f[1]).toMatchObject({ state: 'merged', token: -3, atLayer: 3, score: 0.5 });
    expect(f[3]).toMatchObject({ state: 'merged', token: -1, atLayer: 1 });
    expect(f[6]).toMatchObject({ state: 'dropped', atLayer: 3 });
    const groups = mergedGroupsAtLayer(smallTrace(), 4).sort((a, b) => a.id - b.id);
    expect(groups).toEqual([
      { id: -3, patches: [1, 10, 11] },
      { id: -1, patches: [3, 4, 7] },
    ]);
  });
  it('a dropped merged token drops its patches at that layer', () => {
    const f = patchFates(smallTrace(), 5);
    for (const p of [3, 4, 7]) expect(f[p]).toMatchObject({ state: 'dropped', atLayer: 4, token: null, score: 0.2 });
    expect(f[0]).toMatchObject({ state: 'dropped', atLayer: 4 });
    expect(f[5]).toMatchObject({ state: 'kept', token: 5 });
    expect(f.filter((x) => x.state !== 'dropped').map((x) => x.patch)).toEqual([1, 5, 10, 11]);
  });
  it('counts survivors of the 576-patch trace per stage', () => {
    const t = llava64Trace();
    const alive = (l: number) => patchFates(t, l).filter((x) => x.state === 'kept').length;
    expect([alive(0), alive(3), alive(7), alive(16)]).toEqual([576, 66, 30, 17]);
  });
  it('describes a fate in words', () => {
    const f = patchFates(smallTrace(), 2);
    expect(describeFate(f[8])).toBe('patch 8: dropped after layer 1 · score 0.500 (rank 9 after layer 1)');
    const sizes = groupSizes(f);
    expect(describeFate(f[3], sizes.get(f[3].token!))).toContain(
      'merged with 2 other patches into one token after layer 1',
    );
    // No trace-internal numbers: no negative ids, no layer −1.
    for (const x of f) expect(describeFate(x, sizes.get(x.token!))).not.toMatch(/-\d|group \d/);
    expect(describeFate({ ...f[8], atLayer: -1, scoreLayer: -1 })).toBe(
      'patch 8: dropped before the first layer · score 0.500 (rank 9 before the first layer)',
    );
  });
});

describe('several images (trace.images)', () => {
  // smallTrace's 16-token span read as two 4-patch images at origins 2 and 9 (the other tokens
  // stand for template tokens between images: only the origin arithmetic matters here).
  const trace = {
    ...smallTrace(),
    images: [
      { name: 'a.png', origin: 2, patches: 4 },
      { name: 'b.png', origin: 9, patches: 4 },
    ],
  };
  it("each image's kept patches after the first stage are the stage's kept origins that locateOrigin puts in it", () => {
    const fates = patchFates(trace, 2);
    for (const [k, im] of trace.images.entries()) {
      const kept = imageFates(fates, im)
        .filter((f) => f.state === 'kept')
        .map((f) => f.patch);
      const expected = trace.stages[0].kept.flatMap((o) => {
        const at = locateOrigin(trace, o);
        return at.kind === 'patch' && at.image === k ? [at.patch] : [];
      });
      expect(kept).toEqual(expected);
      expect(imageCounts(fates, im).kept).toBe(expected.length);
    }
    // Image a = tokens 2..5: 2 and 5 kept, 3 and 4 merged; image b = 9..12: 9 kept, 10 and 11 merged, 12 dropped.
    expect(imageCounts(fates, trace.images[0])).toEqual({ kept: 2, merged: 2, dropped: 0 });
    expect(imageCounts(fates, trace.images[1])).toEqual({ kept: 1, merged: 2, dropped: 1 });
  });
  it('per image, the tokens carrying its patches entering each layer and their share of patches × layers', () => {
    // Layers 0–1 all 4 patches each. Layer 2: a = 2, 5 kept + −1 (3, 4) → 3; b = 9 + −2 (10, 11) → 2.
    // Layer 3 (−2 rides on): a same 3; b same 2. Layer 4: a = 5, −1 → 2; b = −3 (holds −2) → 1. Layer 5: a = 5 → 1; b = −3 → 1.
    const rows = imageTokenLayers(trace);
    expect(rows.map((r) => r.perLayer)).toEqual([
      [4, 4, 3, 3, 2, 1],
      [4, 4, 2, 2, 1, 1],
    ]);
    expect(rows[0].share).toBeCloseTo(17 / 24, 12);
    expect(rows[1].share).toBeCloseTo(14 / 24, 12);
    expect(imageTokenLayers(smallTrace())).toEqual([]);
  });
});
