import { describe, expect, it } from 'vitest';
import { costFigures, kvBytes, layerFlops } from './flops';
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
