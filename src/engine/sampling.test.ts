import { describe, expect, it } from 'vitest';
import { argmax, sampleToken, topK } from './sampling';
import { seededRandom } from '../common/random';

describe('sampling', () => {
  const logits = Float32Array.from([0.5, 3, 3, -1, 2.9]);
  it('greedy takes the first maximum, top-k sorts descending with ties by id', () => {
    expect(argmax(logits)).toBe(1);
    expect(sampleToken(logits, 0, 1, seededRandom(1))).toBe(1);
    expect(topK(logits, 3)).toEqual([
      { id: 1, value: 3 },
      { id: 2, value: 3 },
      { id: 4, value: expect.closeTo(2.9, 6) },
    ]);
  });
  it('same seed gives the same draws; top-p restricts to the nucleus', () => {
    const draw = (seed: number, topP: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 200 }, () => sampleToken(logits, 1, topP, r));
    };
    expect(draw(7, 1)).toEqual(draw(7, 1));
    expect(draw(7, 1)).not.toEqual(draw(8, 1));
    // Ids 1, 2 and 4 carry ~0.94 of the mass; topP 0.5 keeps only {1, 2}.
    expect(new Set(draw(3, 0.5))).toEqual(new Set([1, 2]));
    expect(new Set(draw(3, 1)).has(0)).toBe(true);
  });
});
