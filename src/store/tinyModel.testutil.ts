import type { ModelInfo } from '../engine/protocol';

/** The model the store tests' fake worker reports as loaded (a 4×4-patch synthetic package). */
export const TINY_MODEL = {
  name: 'synthetic-tiny',
  dtype: 'q4',
  numLayers: 6,
  hiddenSize: 64,
  visualTokens: 16,
  gridSize: [4, 4] as [number, number],
  imageSize: 56,
  synthetic: true,
  bytes: 1000,
  imageFit: { kind: 'stretch' as const },
} satisfies Partial<ModelInfo>;
