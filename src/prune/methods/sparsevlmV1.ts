/**
 * SparseVLM v1 (first release, paper v1): rank-adaptive keep counts, stages after layers
 * 2/6/15/19 (scaled). The keep count comes from the numerical rank of the [raters × visual]
 * head-averaged block (tolerance σ_max · max(R, V) · ε_f32):
 * - `rule code` (default, the reference's code): keep = min(int(rank·scale + bias), V − 1);
 *   scale/bias per budget from SPARSEVLM_V1_SCALE_BIAS;
 * - `rule paper` (Eq. 8): delete N = int(λ·(V − rank)), keep = V − N.
 * A stage is skipped when V − rank = 0 (both rules) or N = 0 (paper rule). Keep is clamped to
 * [1, V − 1] (the code rule can give 0, e.g. rank 1 at scale 0.8; we keep one — a project choice).
 * Everything else (raters, recycling, renumbered positions) is v1.5's.
 *
 * `schedule video` is the reference's video branch (Video-LLaVA): one stage after layer 1
 * (scaled), keep = rank(P) (scale 1, bias 0 unless set), the same recycling; the budget does
 * not enter it. With several images or frames the visual block is their whole span (engine).
 */
import type { RaterAttention } from '../backend';
import type { LayerContext, ModelDims } from '../method';
import {
  SPARSEVLM_V1_SCALE_BIAS,
  SPARSEVLM_V1_STAGE_LAYERS,
  SPARSEVLM_VIDEO_SCALE_BIAS,
  SPARSEVLM_VIDEO_STAGE_LAYERS,
} from '../schedule';
import type { KeepDecision } from './scoredStage';
import { requireSparseBudget, SparseVlm, type ResolvedParams } from './sparsevlm';

export class SparseVlmV1 extends SparseVlm {
  override readonly name = 'sparsevlm-v1';

  protected override referenceStageLayers(): readonly number[] {
    return this.resolved.schedule === 'video' ? SPARSEVLM_VIDEO_STAGE_LAYERS : SPARSEVLM_V1_STAGE_LAYERS;
  }

  /** Keep count from a rank (exported for the schedule tests and the app's explanations). */
  keepFromRank(rank: number, visualCount: number): number | null {
    if (visualCount - rank <= 0) return null;
    if (this.resolved.rule === 'paper') {
      const lambda = (this.resolved.lambda as number | null) ?? 1;
      const deleted = Math.trunc(lambda * (visualCount - rank));
      if (deleted <= 0) return null;
      return Math.min(Math.max(visualCount - deleted, 1), visualCount - 1);
    }
    const defaults =
      this.resolved.schedule === 'video' ? SPARSEVLM_VIDEO_SCALE_BIAS : SPARSEVLM_V1_SCALE_BIAS[this.budget];
    const scale = (this.resolved.scale as number | null) ?? defaults.scale;
    const bias = (this.resolved.bias as number | null) ?? defaults.bias;
    return Math.min(Math.max(Math.trunc(rank * scale + bias), 1), visualCount - 1);
  }

  protected override async decideKeep(
    _stage: number,
    attention: RaterAttention,
    visualCount: number,
    ctx: LayerContext,
  ): Promise<KeepDecision> {
    const rank = await ctx.backend.rankEstimate(attention.block);
    const keep = this.keepFromRank(rank, visualCount);
    return keep === null ? null : { keep, rank };
  }

  /** v1's schedule depends on the input (the rank): no plan without a model. */
  override planVisualCounts(_dims: ModelDims): number[] | null {
    return null;
  }
}

export function createSparseVlmV1(budget: number | undefined, params: ResolvedParams, dims: ModelDims): SparseVlmV1 {
  return new SparseVlmV1(requireSparseBudget('sparsevlm-v1', budget), params, dims);
}
