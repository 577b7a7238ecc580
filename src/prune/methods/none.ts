/** No pruning: every layer sees every visual token (the unpruned baseline). */
import type { LayerContext, ModelDims, PrunePlan, PruneMethod, RequestContext } from '../method';

export class NoPruning implements PruneMethod {
  readonly name = 'none';
  readonly decodePositions = 'per-layer-cache-length' as const;
  readonly params = {};

  async begin(_ctx: RequestContext): Promise<PrunePlan | null> {
    return null;
  }

  /** Never prunes after a layer. */
  actsAfter(_layer: number): boolean {
    return false;
  }

  async afterLayer(_ctx: LayerContext): Promise<PrunePlan | null> {
    return null;
  }

  planVisualCounts(dims: ModelDims): number[] {
    return new Array<number>(dims.numLayers).fill(dims.visualTokens);
  }
}

export function createNone(): NoPruning {
  return new NoPruning();
}
