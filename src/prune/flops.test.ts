import { describe, expect, it } from 'vitest';
import { costFigures, kvBytes, layerFlops, layerFlopsWithPast } from './flops';
import { REFERENCE_MODEL_DIMS } from './schedule';

const LLAVA = REFERENCE_MODEL_DIMS;

describe('flops', () => {
  it('layer formula 4nd² + 2n²d + 3ndm', () => {
    expect(layerFlops(1, 2, 3)).toBe(4 * 4 + 2 * 2 + 3 * 2 * 3);
    expect(layerFlops(10, 4096, 11008)).toBe(4 * 10 * 4096 ** 2 + 2 * 100 * 4096 + 3 * 10 * 4096 * 11008);
  });

  it('unpruned LLaVA-1.5 prefill of 640 tokens: 32 equal layers, ≈ 4.25 TFLOPs', () => {
    const cost = costFigures({
      dims: LLAVA,
      nonVisualTokens: 64,
      visualPerLayer: Array(32).fill(576),
      visualTokens: 576,
      decodeSteps: 0,
      bytesPerElement: 2,
    });
    expect(cost.flops).toBe(cost.flopsUnpruned);
    expect(cost.flops).toBe(32 * layerFlops(640, 4096, 11008));
    expect(cost.flops / 1e12).toBeCloseTo(4.252, 3);
  });

  it('pruned totals and per-layer KV bytes', () => {
    const visual = [...Array(3).fill(576), ...Array(4).fill(82), ...Array(9).fill(32), ...Array(16).fill(18)];
    const cost = costFigures({
      dims: LLAVA,
      nonVisualTokens: 50,
      visualPerLayer: visual,
      visualTokens: 576,
      decodeSteps: 10,
      bytesPerElement: 2,
    });
    const expected = visual.reduce((s, v) => s + layerFlops(50 + v, 4096, 11008), 0);
    expect(cost.flops).toBe(expected);
    expect(cost.flops).toBeLessThan(cost.flopsUnpruned / 3);
    expect(cost.kvBytesPerLayer[0]).toBe(2 * 32 * 128 * 2 * (50 + 576 + 10));
    expect(cost.kvBytesPerLayer[31]).toBe(kvBytes(50 + 18 + 10, LLAVA, 2));
    expect(cost.kvBytesUnpruned).toBe(32 * kvBytes(636, LLAVA, 2));
  });

  it("a follow-up on kept caches counts its new tokens over each layer's past, not the whole conversation", () => {
    expect(layerFlopsWithPast(3, 0, 4096, 11008)).toBe(layerFlops(3, 4096, 11008));
    expect(layerFlopsWithPast(2, 5, 1, 1)).toBe(4 * 2 + 2 * 2 * 7 + 3 * 2);
    const visual = [...Array(2).fill(576), ...Array(30).fill(64)];
    // 700 ids kept (50 text + 576 visual + 74 more text), 20 new: layer l's past = 700 − (576 − visual[l]).
    const pastPerLayer = visual.map((v) => 700 - (576 - v));
    const cost = costFigures({
      dims: LLAVA,
      nonVisualTokens: 50 + 74 + 20,
      visualPerLayer: visual,
      visualTokens: 576,
      decodeSteps: 3,
      bytesPerElement: 2,
      followUp: { newTokens: 20, pastPerLayer, pastUnpruned: 700 },
    });
    expect(cost.flops).toBe(pastPerLayer.reduce((s, p) => s + layerFlopsWithPast(20, p, 4096, 11008), 0));
    expect(cost.flopsUnpruned).toBe(32 * layerFlopsWithPast(20, 700, 4096, 11008));
    expect(cost.flopsWholePrefill).toBe(visual.reduce((s, v) => s + layerFlops(144 + v, 4096, 11008), 0));
    expect(cost.flops).toBeLessThan(cost.flopsWholePrefill! / 10);
    // The KV figures are the whole conversation's caches as held.
    expect(cost.kvBytesPerLayer[31]).toBe(kvBytes(144 + 64 + 3, LLAVA, 2));
    expect(cost.kvBytesUnpruned).toBe(32 * kvBytes(144 + 576 + 3, LLAVA, 2));
  });

  it('rejects a per-layer list of the wrong length', () => {
    expect(() =>
      costFigures({
        dims: LLAVA,
        nonVisualTokens: 1,
        visualPerLayer: [1],
        visualTokens: 576,
        decodeSteps: 0,
        bytesPerElement: 2,
      }),
    ).toThrow(/1 entries, model has 32/);
  });
});
