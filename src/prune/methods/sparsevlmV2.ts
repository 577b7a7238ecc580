/**
 * SparseVLM v2 ("SparseVLM+", reference `USE_VERSION=2_0`): v1.5's stages with two changes to
 * the scores — each attention probability is divided by the RoPE gravity w(Δ) of its
 * (query, key) position distance, then only the top round(14·H/32) heads by rater×visual mass
 * are averaged — its own keep tables, no recycling, and original (gapped) positions kept, so a
 * decoded token sits at the unpruned prefill length + step in every layer.
 */
import type { LayerContext, ModelDims, PruneMethod } from '../method';
import { SPARSEVLM_V2_KEEP, scaleKeepCount, scaleTopHeads } from '../schedule';
import type { ScoredStageArgs } from './scoredStage';
import { requireSparseBudget, SparseVlm, type ResolvedParams } from './sparsevlm';

export class SparseVlmV2 extends SparseVlm {
  override readonly name = 'sparsevlm-v2';
  override readonly decodePositions: PruneMethod['decodePositions'] = 'unpruned-length';
  protected override readonly positions = 'keep' as const;

  protected override keepTable(): readonly number[] {
    return SPARSEVLM_V2_KEEP[this.budget].map((k) => scaleKeepCount(k, this.dims.visualTokens));
  }

  /** Heads averaged after selection: the parameter, else round(14·H/32). */
  get topHeads(): number {
    return Math.min((this.resolved.topHeads as number | null) ?? scaleTopHeads(this.dims.numHeads), this.dims.numHeads);
  }

  protected override attentionOptions(ctx: LayerContext): ScoredStageArgs['attention'] {
    return {
      topHeads: this.topHeads,
      ...(this.resolved.gravity !== false
        ? { gravity: { positions: ctx.positions, ropeTheta: this.dims.ropeTheta } }
        : {}),
    };
  }
}

export function createSparseVlmV2(budget: number | undefined, params: ResolvedParams, dims: ModelDims): SparseVlmV2 {
  return new SparseVlmV2(requireSparseBudget('sparsevlm-v2', budget), params, dims);
}
