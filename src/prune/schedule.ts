/**
 * Every pruning schedule in one place, and the one rule that scales them to other models.
 *
 * The tables are the reference's, stated for LLaVA-1.5-7B: 32 decoder layers and 576 visual
 * tokens (SPARSEVLM.md, research/sparsevlm-reference.md §2). A "stage layer" here is the
 * layer AFTER which the method decides (the reference's `pruning_loc` 2/6/15 prunes after
 * layer 2 ran, so layer 3 is the first to see fewer tokens).
 *
 * Scaling, stated once:
 * - Depth: the number of layers that run on the unpruned set scales with depth. A stage after
 *   layer `l` of the 32-layer reference is after layer `round((l + 1) · N / 32) − 1` of an
 *   N-layer model, clamped to [0, N − 2] and made strictly increasing (a collision moves the
 *   later stage one layer down; stages that fall off the end are dropped). For N = 32 this is
 *   the identity; for 24 layers, 2/6/15 → 1/4/11.
 * - Visual tokens: keep counts scale with the visual-token count, `round(k · Vp / 576)`, at
 *   least 1. For Vp = 576 the tables are used as printed.
 * - Fractions (PDrop ratios, FastV R, τ, θ) are already relative and are not scaled.
 */
import type { ModelDims, PruneMethod } from './method';

export const REFERENCE_LAYERS = 32;
export const REFERENCE_VISUAL_TOKENS = 576;
/** LLaVA-1.5-7B's decoder, the model the reference schedules and figures are stated for. */
export const REFERENCE_MODEL_DIMS: Readonly<ModelDims> = {
  numLayers: REFERENCE_LAYERS,
  hiddenSize: 4096,
  numHeads: 32,
  numKvHeads: 32,
  headDim: 128,
  intermediateSize: 11008,
  ropeTheta: 10000,
  visualTokens: REFERENCE_VISUAL_TOKENS,
};

/** The budgets with reference tables ("equal tokens" targets, layer averages, not final counts). */
export const SPARSEVLM_BUDGETS = [192, 128, 96, 64] as const;
export type SparseBudget = (typeof SPARSEVLM_BUDGETS)[number];

/** v1.5 and v2: decide after layers 2, 6, 15 (`pruning_loc`). */
export const SPARSEVLM_STAGE_LAYERS = [2, 6, 15] as const;
/** v1 (first release): after layers 2, 6, 15, 19. */
export const SPARSEVLM_V1_STAGE_LAYERS = [2, 6, 15, 19] as const;
/**
 * The reference's video branch (Video-LLaVA, `pruning_loc = [1]`): one stage, after layer 1,
 * keeping rank(P) tokens (scale 1, bias 0), with v1's recycling. sparsevlm-v1 `--schedule video`.
 */
export const SPARSEVLM_VIDEO_STAGE_LAYERS = [1] as const;
export const SPARSEVLM_VIDEO_SCALE_BIAS = { scale: 1, bias: 0 } as const;

/** Tokens kept by top-k at each stage (score.py tables), before recycled clusters are added. */
export const SPARSEVLM_V15_KEEP: Record<SparseBudget, readonly number[]> = {
  192: [300, 200, 110],
  128: [303, 110, 36],
  96: [238, 48, 26],
  64: [66, 30, 17],
};
export const SPARSEVLM_V2_KEEP: Record<SparseBudget, readonly number[]> = {
  192: [300, 200, 118],
  128: [238, 108, 60],
  96: [246, 54, 28],
  64: [66, 34, 20],
};

/**
 * v1 code rule keep = min(int(rank·scale + bias), V − 1): the reference eval scripts' values.
 * "96" has no reference value (v1 predates that budget); ours is the midpoint of "128" and
 * "64", a project choice.
 */
export const SPARSEVLM_V1_SCALE_BIAS: Record<SparseBudget, { scale: number; bias: number }> = {
  192: { scale: 13.5, bias: 0 },
  128: { scale: 9, bias: 6 },
  96: { scale: 4.9, bias: 3 },
  64: { scale: 0.8, bias: 0 },
};

/** v2 keeps the 14 of 32 heads with the largest rater × visual attention mass. */
export const SPARSEVLM_V2_TOP_HEADS = 14;
export const REFERENCE_HEADS = 32;

/** Recycling: τ = 30 % of the pruned (+1), θ = 10 % of those as clusters (+1). */
export const RECYCLE_TAU = 0.3;
export const RECYCLE_THETA = 0.1;

/** FastV: prune at layer K using layer K−1's attention (the paper's default K = 2). */
export const FASTV_DEFAULT_K = 2;

/** PyramidDrop eval scripts: before layers 8/16/24 (so after 7/15/23), ratios λ, λ², λ³ of Vp with λ = 0.5. */
export const PDROP_STAGE_LAYERS = [7, 15, 23] as const;
export const PDROP_DEFAULT_LAMBDA = 0.5;

export function isSparseBudget(budget: number): budget is SparseBudget {
  return (SPARSEVLM_BUDGETS as readonly number[]).includes(budget);
}

/** One reference stage layer scaled to a model of `numLayers` layers (no collision handling). */
export function scaleStageLayer(referenceLayer: number, numLayers: number): number {
  const scaled = Math.round(((referenceLayer + 1) * numLayers) / REFERENCE_LAYERS) - 1;
  return Math.min(Math.max(scaled, 0), Math.max(numLayers - 2, 0));
}

/** Reference stage layers scaled to `numLayers`, strictly increasing, none past layer N − 2. */
export function scaleStageLayers(referenceLayers: readonly number[], numLayers: number): number[] {
  const out: number[] = [];
  for (const ref of referenceLayers) {
    let layer = scaleStageLayer(ref, numLayers);
    if (out.length > 0 && layer <= out[out.length - 1]) layer = out[out.length - 1] + 1;
    if (layer > numLayers - 2) break;
    out.push(layer);
  }
  return out;
}

/** A reference keep count scaled to `visualTokens` (identity at 576), at least 1. */
export function scaleKeepCount(referenceKeep: number, visualTokens: number): number {
  if (visualTokens === REFERENCE_VISUAL_TOKENS) return referenceKeep;
  return Math.max(1, Math.round((referenceKeep * visualTokens) / REFERENCE_VISUAL_TOKENS));
}

/** v2 head count scaled to the model: round(14 · H / 32), at least 1, at most H. */
export function scaleTopHeads(numHeads: number): number {
  return Math.min(numHeads, Math.max(1, Math.round((SPARSEVLM_V2_TOP_HEADS * numHeads) / REFERENCE_HEADS)));
}

/**
 * Recycling sizes, written as the reference computes them (Python `int()` of a positive
 * double = floor of the same IEEE product): n = int(τ·pruned) + 1 candidates (never more than
 * were pruned), C = int(n / 10) + 1 clusters at the default θ (the reference's own expression),
 * int(θ·n) + 1 for another θ; never more clusters than candidates.
 */
export function recycleSizes(
  prunedCount: number,
  tau = RECYCLE_TAU,
  theta = RECYCLE_THETA,
): { candidates: number; clusters: number } {
  const candidates = Math.min(prunedCount, Math.floor(tau * prunedCount) + 1);
  const clusters = theta === RECYCLE_THETA ? Math.floor(candidates / 10) + 1 : Math.floor(theta * candidates) + 1;
  return { candidates, clusters: Math.min(clusters, candidates) };
}

/** A stage of a fixed schedule: after `layer`, keep `keep` by top-k (then maybe recycle). */
export interface FixedStage {
  layer: number;
  keep: number;
}

/** Visual tokens entering each layer, given the count after every stage (stages ascending). */
export function visualCountsFromStages(
  numLayers: number,
  visualTokens: number,
  stages: { layer: number; visualOut: number }[],
): number[] {
  const counts: number[] = [];
  let current = visualTokens;
  let next = 0;
  for (let layer = 0; layer < numLayers; layer++) {
    counts.push(current);
    while (next < stages.length && stages[next].layer === layer) current = stages[next++].visualOut;
  }
  return counts;
}

/**
 * Simulate a fixed-table schedule: k = min(keep, V − 1) (stages with V ≤ 1 are skipped), then
 * with recycling C clusters are added. Gives visual tokens entering each layer.
 */
export function simulateFixedSchedule(
  numLayers: number,
  visualTokens: number,
  stages: readonly FixedStage[],
  recycling: { tau: number; theta: number } | null,
): number[] {
  let current = visualTokens;
  const outs: { layer: number; visualOut: number }[] = [];
  for (const stage of stages) {
    if (current <= 1) continue;
    const kept = Math.min(stage.keep, current - 1);
    let out = kept;
    if (recycling) out += recycleSizes(current - kept, recycling.tau, recycling.theta).clusters;
    outs.push({ layer: stage.layer, visualOut: out });
    current = out;
  }
  return visualCountsFromStages(numLayers, visualTokens, outs);
}

/**
 * "Equal tokens" (the reference's logger, SPARSEVLM.md): mean over layers of the visual count
 * AFTER each layer, so a pruning layer counts at its post-prune size. `visualPerLayer` holds
 * the count entering each layer; the count after the last layer is `finalCount` (default: the
 * count entering it, since nothing prunes after the last layer).
 */
export function equalTokens(visualPerLayer: readonly number[], finalCount?: number): number {
  const layers = visualPerLayer.length;
  if (layers === 0) return 0;
  let sum = 0;
  for (let l = 0; l < layers; l++) sum += l + 1 < layers ? visualPerLayer[l + 1] : (finalCount ?? visualPerLayer[l]);
  return sum / layers;
}

/** Mean visual tokens entering each layer (the compute-relevant figure). */
export function meanVisualIn(visualPerLayer: readonly number[]): number {
  if (visualPerLayer.length === 0) return 0;
  return visualPerLayer.reduce((a, b) => a + b, 0) / visualPerLayer.length;
}

/**
 * FastV keep count for a budget: the count whose equal-tokens figure (same logger as
 * SparseVLM's budgets, pruning after layer K−1) is closest to the budget:
 * ((K−1)·V + (N−K+1)·keep) / N = budget. Clamped to [1, V]. The FastV paper states R, not a
 * budget; this is our mapping so that methods compare at one figure.
 */
export function fastvKeepForBudget(
  budget: number,
  k: number,
  dims: Pick<ModelDims, 'numLayers' | 'visualTokens'>,
): number {
  const { numLayers, visualTokens } = dims;
  const keep = Math.round((budget * numLayers - (k - 1) * visualTokens) / (numLayers - k + 1));
  return Math.min(visualTokens, Math.max(1, keep));
}

/**
 * Visual tokens entering each layer for a method whose schedule does not depend on the input
 * (fixed tables, FastV, PDrop, DivPrune, none), without running a model; null for
 * data-dependent schedules (v1's rank rule).
 */
export function plannedVisualCounts(method: PruneMethod, dims: ModelDims): number[] | null {
  return method.planVisualCounts ? method.planVisualCounts(dims) : null;
}
