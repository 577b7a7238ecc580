/**
 * PyramidDrop (Cooperx521/PyramidDrop eval scripts): before layers 8/16/24 (after 7/15/23,
 * scaled with depth) keep λ, λ², λ³ of the ORIGINAL visual count (cumulative: 50/25/12.5 % at
 * λ = 0.5), ranked by the head-averaged attention of the last instruction token; positions are
 * renumbered (reference L1264–1268), so decode positions follow each layer's cache length.
 *
 * Deviation: PDrop recomputes the NEXT layer's Q/K from its layer-normed input to score; we
 * score with the attention of the layer that just ran (the hook sees that layer's query/key).
 * The budget does not steer PDrop (its schedule cannot reach "64" with the first stage at
 * layer 8); the trace's equal-tokens figure shows where it lands (≈ 252 at λ = 0.5).
 */
import type { LayerContext, ModelDims, PrunePlan, PruneMethod, RequestContext } from '../method';
import type { ParamValue } from '../params';
import { PDROP_DEFAULT_LAMBDA, PDROP_STAGE_LAYERS, scaleStageLayers, visualCountsFromStages } from '../schedule';
import { runScoredStage } from './scoredStage';
import { lastPromptRow } from './stage';

export class PDrop implements PruneMethod {
  readonly name = 'pdrop';
  readonly decodePositions = 'per-layer-cache-length' as const;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly stageLayers: readonly number[];
  /** Visual tokens kept at each stage (of the original count). */
  readonly keepCounts: readonly number[];

  constructor(resolved: Record<string, ParamValue | null>, dims: ModelDims) {
    const lambda = (resolved.lambda as number | null) ?? PDROP_DEFAULT_LAMBDA;
    this.stageLayers = scaleStageLayers(PDROP_STAGE_LAYERS, dims.numLayers);
    this.keepCounts = this.stageLayers.map((_, i) => Math.max(1, Math.round(lambda ** (i + 1) * dims.visualTokens)));
    this.params = { lambda, layers: this.stageLayers.map((l) => l + 1).join(',') };
  }

  async begin(_ctx: RequestContext): Promise<PrunePlan | null> {
    return null;
  }

  /** Only after its stage layers. */
  actsAfter(layer: number): boolean {
    return this.stageLayers.includes(layer);
  }

  async afterLayer(ctx: LayerContext): Promise<PrunePlan | null> {
    const stage = this.stageLayers.indexOf(ctx.layer);
    if (stage < 0 || this.keepCounts[stage] >= ctx.layout.visualCount) return null;
    return runScoredStage({
      ctx,
      stage,
      queryRows: [lastPromptRow(ctx.layout)],
      decideKeep: async () => ({ keep: this.keepCounts[stage] }),
      recycling: null,
      positions: 'renumber',
    });
  }

  planVisualCounts(dims: ModelDims): number[] {
    const stages: { layer: number; visualOut: number }[] = [];
    let current = dims.visualTokens;
    this.stageLayers.forEach((layer, i) => {
      if (this.keepCounts[i] < current && current > 1) {
        current = this.keepCounts[i];
        stages.push({ layer, visualOut: current });
      }
    });
    return visualCountsFromStages(dims.numLayers, dims.visualTokens, stages);
  }
}

export function createPDrop(
  _budget: number | undefined,
  params: Record<string, ParamValue | null>,
  dims: ModelDims,
): PDrop {
  return new PDrop(params, dims);
}
