import { describe, expect, it } from 'vitest';
import { createMethod } from './registry';
import {
  REFERENCE_MODEL_DIMS,
  equalTokens,
  fastvKeepForBudget,
  meanVisualIn,
  plannedVisualCounts,
  recycleSizes,
  scaleKeepCount,
  scaleStageLayers,
  scaleTopHeads,
} from './schedule';

/** LLaVA-1.5-7B shapes. */
const LLAVA = REFERENCE_MODEL_DIMS;

/** Entering-count list from the per-stage figures: layers 0–2, 3–6, 7–15, 16–31. */
function expand(a: number, b: number, c: number): number[] {
  return [...Array(3).fill(576), ...Array(4).fill(a), ...Array(9).fill(b), ...Array(16).fill(c)];
}

// SPARSEVLM.md / research notes §2.2: after-stage counts, equal tokens (logger), input mean.
const EXPECTED: Record<string, Record<number, [number, number, number, number, number]>> = {
  sparsevlm: {
    192: [309, 204, 113, 192.03, 206.5],
    128: [312, 117, 39, 128.6, 145.4],
    96: [249, 55, 27, 96.9, 114.1],
    64: [82, 32, 18, 64.8, 82.3],
  },
  'sparsevlm-v2': {
    192: [300, 200, 118, 192.4, 206.8],
    128: [238, 108, 60, 128.0, 144.1],
    96: [246, 54, 28, 96.8, 113.9],
    64: [66, 34, 20, 64.4, 81.8],
  },
};

describe('planned visual counts with LLaVA-1.5 shapes', () => {
  for (const [name, budgets] of Object.entries(EXPECTED)) {
    for (const [budget, [a, b, c, equal, inMean]] of Object.entries(budgets)) {
      it(`${name} "${budget}": 576 → ${a} → ${b} → ${c}`, () => {
        const method = createMethod(name, { budget: Number(budget) }, LLAVA);
        const counts = plannedVisualCounts(method, LLAVA)!;
        expect(counts).toEqual(expand(a, b, c));
        // The notes print one decimal (206.75 → 206.8).
        expect(Math.abs(equalTokens(counts) - equal)).toBeLessThanOrEqual(0.05 + 1e-9);
        expect(Math.abs(meanVisualIn(counts) - inMean)).toBeLessThanOrEqual(0.05 + 1e-9);
      });
    }
  }

  it('v1.5 "64" equal tokens is exactly 2074/32', () => {
    const counts = plannedVisualCounts(createMethod('sparsevlm', { budget: 64 }, LLAVA), LLAVA)!;
    expect(equalTokens(counts)).toBe(2074 / 32);
  });

  it('recycling off: v1.5 counts equal the keep table', () => {
    const m = createMethod('sparsevlm', { budget: 64, params: { recycling: 'off' } }, LLAVA);
    expect(plannedVisualCounts(m, LLAVA)).toEqual(expand(66, 30, 17));
  });

  it('v1 has no plan (depends on the rank)', () => {
    expect(plannedVisualCounts(createMethod('sparsevlm-v1', { budget: 64 }, LLAVA), LLAVA)).toBeNull();
  });

  it('fastv, pdrop, divprune, none', () => {
    const fastv = plannedVisualCounts(createMethod('fastv', { budget: 64 }, LLAVA), LLAVA)!;
    expect(fastv.slice(0, 2)).toEqual([576, 576]);
    expect(fastv.slice(2)).toEqual(Array(30).fill(47));
    expect(Math.abs(equalTokens(fastv) - 64)).toBeLessThan(31 / 32 / 2 + 1e-9);
    const fastvR = plannedVisualCounts(createMethod('fastv', { params: { K: 3, R: 0.5 } }, LLAVA), LLAVA)!;
    expect(fastvR.slice(0, 3)).toEqual([576, 576, 576]);
    expect(fastvR[3]).toBe(288);
    const pdrop = plannedVisualCounts(createMethod('pdrop', {}, LLAVA), LLAVA)!;
    expect([pdrop[7], pdrop[8], pdrop[15], pdrop[16], pdrop[23], pdrop[24], pdrop[31]]).toEqual([
      576, 288, 288, 144, 144, 72, 72,
    ]);
    expect(plannedVisualCounts(createMethod('divprune', { budget: 64 }, LLAVA), LLAVA)).toEqual(Array(32).fill(64));
    expect(plannedVisualCounts(createMethod('none', {}, LLAVA), LLAVA)).toEqual(Array(32).fill(576));
  });
});

describe('scaling rules', () => {
  it('stage layers: identity at 32 layers, proportional elsewhere, strictly increasing', () => {
    expect(scaleStageLayers([2, 6, 15], 32)).toEqual([2, 6, 15]);
    expect(scaleStageLayers([2, 6, 15, 19], 32)).toEqual([2, 6, 15, 19]);
    expect(scaleStageLayers([2, 6, 15], 24)).toEqual([1, 4, 11]);
    expect(scaleStageLayers([2, 6, 15], 64)).toEqual([5, 13, 31]);
    expect(scaleStageLayers([2, 6, 15], 4)).toEqual([0, 1, 2]);
    expect(scaleStageLayers([2, 6, 15], 2)).toEqual([0]);
  });
  it('keep counts scale with the visual-token count', () => {
    expect(scaleKeepCount(66, 576)).toBe(66);
    expect(scaleKeepCount(66, 729)).toBe(84);
    expect(scaleKeepCount(1, 10)).toBe(1);
  });
  it('v2 heads: 14 of 32, scaled and rounded', () => {
    expect(scaleTopHeads(32)).toBe(14);
    expect(scaleTopHeads(14)).toBe(6);
    expect(scaleTopHeads(5)).toBe(2);
    expect(scaleTopHeads(1)).toBe(1);
  });
  it('recycle sizes follow the reference (int(0.3·n)+1, int(n/10)+1)', () => {
    expect(recycleSizes(510)).toEqual({ candidates: 154, clusters: 16 });
    expect(recycleSizes(276)).toEqual({ candidates: 83, clusters: 9 });
    expect(recycleSizes(52)).toEqual({ candidates: 16, clusters: 2 });
    expect(recycleSizes(15)).toEqual({ candidates: 5, clusters: 1 });
    expect(recycleSizes(1)).toEqual({ candidates: 1, clusters: 1 });
  });
  it('fastv budget mapping', () => {
    expect(fastvKeepForBudget(64, 2, LLAVA)).toBe(47);
    expect(fastvKeepForBudget(192, 2, LLAVA)).toBe(180);
    expect(fastvKeepForBudget(1, 2, LLAVA)).toBe(1);
  });
});
