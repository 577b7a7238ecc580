/**
 * FLOPs and KV-cache bookkeeping for one request.
 *
 * FLOPs: the reference's per-layer prefill count (modelling_sparse_llama.py L219),
 * `4nd² + 2n²d + 3ndm` with n tokens entering the layer, d hidden size, m FFN size, summed over
 * layers. Prefill only, as the reference counts; the sparsification kernels' own cost (paper
 * Eq. 12) is not included. KV: each layer holds K and V for every token it processed in prefill
 * plus one per decode step (nothing is evicted), `2 · Hkv · hd · bytes` per token.
 *
 * A follow-up on kept caches (engine/conversation.ts) prefills only its n new tokens against
 * each layer's past P rows: `4nd² + 2n(P+n)d + 3ndm` per layer (the same count with the
 * attention taken over past and new keys; P = 0 is the formula above).
 */
import type { CostFigures } from '../common/trace';
import type { ModelDims } from './method';

/** FLOPs of one decoder layer with `tokens` entering: 4nd² + 2n²d + 3ndm. */
export function layerFlops(tokens: number, hiddenSize: number, intermediateSize: number): number {
  const n = tokens;
  const d = hiddenSize;
  const m = intermediateSize;
  return 4 * n * d * d + 2 * n * n * d + 3 * n * d * m;
}

/** FLOPs of one decoder layer prefilling `tokens` new rows against `past` cached ones: 4nd² + 2n(P+n)d + 3ndm. */
export function layerFlopsWithPast(tokens: number, past: number, hiddenSize: number, intermediateSize: number): number {
  const n = tokens;
  const d = hiddenSize;
  const m = intermediateSize;
  return 4 * n * d * d + 2 * n * (past + n) * d + 3 * n * d * m;
}

/** Sum of layerFlops over layers; `tokensPerLayer[l]` = whole sequence length entering layer l. */
export function prefillFlops(
  tokensPerLayer: readonly number[],
  dims: Pick<ModelDims, 'hiddenSize' | 'intermediateSize'>,
): number {
  let total = 0;
  for (const n of tokensPerLayer) total += layerFlops(n, dims.hiddenSize, dims.intermediateSize);
  return total;
}

/** KV-cache bytes of one layer holding `cachedTokens` tokens. */
export function kvBytes(
  cachedTokens: number,
  dims: Pick<ModelDims, 'numKvHeads' | 'headDim'>,
  bytesPerElement: number,
): number {
  return 2 * dims.numKvHeads * dims.headDim * bytesPerElement * cachedTokens;
}

export interface CostInput {
  dims: ModelDims;
  /** Tokens that are not visual (pre-prompt + text after the image); constant over layers. */
  nonVisualTokens: number;
  /** Visual tokens entering each layer (length numLayers). */
  visualPerLayer: readonly number[];
  /** Visual tokens without pruning (Vp). */
  visualTokens: number;
  /** Decode steps run after prefill (each adds one cached token per layer). */
  decodeSteps: number;
  /** 4 for f32 activations/KV, 2 for f16. */
  bytesPerElement: number;
  /**
   * A follow-up that prefilled only `newTokens` on kept caches: each layer's past rows as it
   * attended to them (pruned layers pruned), and the same past unpruned (the ids reused).
   */
  followUp?: { newTokens: number; pastPerLayer: readonly number[]; pastUnpruned: number };
}

/**
 * The trace's CostFigures: prefill FLOPs with and without pruning, KV bytes per layer, and
 * `kvBytesUnpruned` as the TOTAL over all layers of the unpruned caches (compare it with the
 * sum of `kvBytesPerLayer`). With `followUp`, the FLOPs are what the follow-up computed — its
 * new tokens over the kept caches, and over unpruned ones of the same turns — and
 * `flopsWholePrefill` the whole conversation's prefill at these visual counts, which the kept
 * caches saved. The KV figures are the whole conversation's either way (the caches held).
 */
export function costFigures(input: CostInput): CostFigures {
  const { dims, nonVisualTokens, visualPerLayer, visualTokens, decodeSteps, bytesPerElement } = input;
  if (visualPerLayer.length !== dims.numLayers) {
    throw new RangeError(
      `costFigures: visualPerLayer has ${visualPerLayer.length} entries, model has ${dims.numLayers} layers`,
    );
  }
  const tokens = visualPerLayer.map((v) => nonVisualTokens + v);
  const unpruned = new Array<number>(dims.numLayers).fill(nonVisualTokens + visualTokens);
  const followUp = input.followUp;
  if (followUp && followUp.pastPerLayer.length !== dims.numLayers) {
    throw new RangeError(
      `costFigures: followUp.pastPerLayer has ${followUp.pastPerLayer.length} entries, model has ${dims.numLayers} layers`,
    );
  }
  const withPast = (past: (l: number) => number) =>
    followUp!.pastPerLayer.reduce(
      (s, _, l) => s + layerFlopsWithPast(followUp!.newTokens, past(l), dims.hiddenSize, dims.intermediateSize),
      0,
    );
  return {
    ...(followUp
      ? {
          flops: withPast((l) => followUp.pastPerLayer[l]),
          flopsUnpruned: withPast(() => followUp.pastUnpruned),
          flopsWholePrefill: prefillFlops(tokens, dims),
        }
      : { flops: prefillFlops(tokens, dims), flopsUnpruned: prefillFlops(unpruned, dims) }),
    kvBytesPerLayer: tokens.map((n) => kvBytes(n + decodeSteps, dims, bytesPerElement)),
    kvBytesUnpruned: dims.numLayers * kvBytes(nonVisualTokens + visualTokens + decodeSteps, dims, bytesPerElement),
  };
}
