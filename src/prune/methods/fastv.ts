/**
 * FastV (pkunlp-icler/FastV): after layer K−1 (so layer K is the first to see fewer tokens),
 * rank the visual tokens by the head-averaged attention of the last prompt token in that layer
 * and keep (1 − R)·V of them at their original positions (`position_ids = keep_indices`); a
 * decoded token sits at the unpruned length + step.
 *
 * Budget → R (our mapping, research notes §4.1): without `--R`, keep the count whose
 * equal-tokens figure (the same after-layer mean as SparseVLM's budgets) is nearest the budget,
 * ((K−1)·V + (N−K+1)·keep)/N ≈ budget: at K = 2, 32 layers, 576 tokens, "64" keeps 47
 * (R ≈ 0.918), "192" keeps 180. With `--R`, keep = round((1 − R)·V).
 */
import type { LayerContext, ModelDims, PrunePlan, PruneMethod, RequestContext } from '../method';
import type { ParamValue } from '../params';
import { FASTV_DEFAULT_K, fastvKeepForBudget, visualCountsFromStages } from '../schedule';
import { runScoredStage } from './scoredStage';
import { lastPromptRow } from './stage';

export class FastV implements PruneMethod {
  readonly name = 'fastv';
  readonly decodePositions = 'unpruned-length' as const;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Prune after this layer (K − 1). */
  readonly stageLayer: number;
  /** Visual tokens kept. */
  readonly keepCount: number;

  constructor(budget: number | undefined, resolved: Record<string, ParamValue | null>, dims: ModelDims) {
    const k = (resolved.K as number | null) ?? FASTV_DEFAULT_K;
    this.stageLayer = k - 1;
    const r = resolved.R as number | null;
    this.keepCount = r !== null ? Math.round((1 - r) * dims.visualTokens) : fastvKeepForBudget(budget ?? 192, k, dims);
    this.params = {
      K: k,
      R: r ?? 1 - this.keepCount / dims.visualTokens,
      keep: this.keepCount,
      ...(budget !== undefined ? { budget } : {}),
    };
  }

  async begin(_ctx: RequestContext): Promise<PrunePlan | null> {
    return null;
  }

  /** Only after layer K − 1. */
  actsAfter(layer: number): boolean {
    return layer === this.stageLayer;
  }

  async afterLayer(ctx: LayerContext): Promise<PrunePlan | null> {
    if (ctx.layer !== this.stageLayer || this.stageLayer > ctx.dims.numLayers - 2) return null;
    if (this.keepCount >= ctx.layout.visualCount) return null;
    return runScoredStage({
      ctx,
      stage: 0,
      queryRows: [lastPromptRow(ctx.layout)],
      decideKeep: async () => ({ keep: this.keepCount }),
      recycling: null,
      positions: 'keep',
    });
  }

  planVisualCounts(dims: ModelDims): number[] {
    const prunes = this.stageLayer <= dims.numLayers - 2 && this.keepCount < dims.visualTokens;
    const stages = prunes ? [{ layer: this.stageLayer, visualOut: Math.max(1, this.keepCount) }] : [];
    return visualCountsFromStages(dims.numLayers, dims.visualTokens, stages);
  }
}

export function createFastV(
  budget: number | undefined,
  params: Record<string, ParamValue | null>,
  dims: ModelDims,
): FastV {
  return new FastV(budget, params, dims);
}
