/**
 * DivPrune (vbdi/divprune): before layer 0, greedy max-min cosine diversity over the projector
 * outputs keeps k visual tokens, re-sorted into sequence order. It shortens the input
 * embeddings before the LLM, so positions are the ordinary 0..L'−1 (renumbered) and a decoded
 * token sits at the cache length (the same in every layer). k = `--keep`, else the budget
 * scaled to the visual-token count (every layer sees k, so equal tokens = k). The stage's trace
 * has no scores (DivPrune is text-agnostic and scoreless): `scores` is empty, `layer` is −1.
 */
import type { LayerContext, ModelDims, PrunePlan, PruneMethod, RequestContext } from '../method';
import type { ParamValue } from '../params';
import { scaleKeepCount } from '../schedule';
import { buildPlan, nowMs, readU32 } from './stage';

export class DivPrune implements PruneMethod {
  readonly name = 'divprune';
  readonly decodePositions = 'per-layer-cache-length' as const;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly keepCount: number;

  constructor(budget: number | undefined, resolved: Record<string, ParamValue | null>, dims: ModelDims) {
    this.keepCount = (resolved.keep as number | null) ?? scaleKeepCount(budget ?? 192, dims.visualTokens);
    this.params = { keep: this.keepCount, ...(budget !== undefined ? { budget } : {}) };
  }

  async begin(ctx: RequestContext): Promise<PrunePlan | null> {
    const { backend, layout } = ctx;
    if (this.keepCount >= layout.visualCount) return null;
    const started = nowMs();
    const selected = backend.diversitySelect(ctx.visualEmbeds, this.keepCount);
    const keptVisual = await readU32(backend, selected);
    backend.release(selected);
    return buildPlan({
      backend,
      layout,
      keptVisual,
      merged: null,
      mergedIds: [],
      positions: 'renumber',
      visualOrigin: ctx.visualOrigin,
      trace: {
        layer: -1,
        visualIn: layout.visualCount,
        visualOut: keptVisual.length,
        kept: Array.from(keptVisual, (v) => ctx.visualOrigin[v]),
        scores: [],
        recycled: [],
        merges: [],
        ms: nowMs() - started,
      },
    });
  }

  /** Prunes only in `begin`. */
  actsAfter(_layer: number): boolean {
    return false;
  }

  async afterLayer(_ctx: LayerContext): Promise<PrunePlan | null> {
    return null;
  }

  planVisualCounts(dims: ModelDims): number[] {
    return new Array<number>(dims.numLayers).fill(Math.min(this.keepCount, dims.visualTokens));
  }
}

export function createDivPrune(
  budget: number | undefined,
  params: Record<string, ParamValue | null>,
  dims: ModelDims,
): DivPrune {
  return new DivPrune(budget, params, dims);
}
