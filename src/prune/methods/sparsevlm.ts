/**
 * SparseVLM as the reference's default runs it ("v1.5", SPARSEVLM.md): text raters chosen once
 * before layer 0; after layers 2/6/15 (scaled) score the visual tokens with the raters' rows of
 * the layer's head-averaged attention, keep k = min(table[stage], V − 1) in sequence order,
 * recycle the best pruned ones into C merged tokens, renumber positions. v1 and v2 subclass
 * this and override only what differs (`decideKeep`, `attentionOptions`, defaults).
 *
 * Degenerate cases (defined here, tested in sparsevlm.test.ts):
 * - no rater above the mean (e.g. a one-token question, where m = [1] = mean): every text
 *   token after the image rates (as with `--raters off`); the reference would average an empty
 *   row set (NaN scores).
 * - no text after the image: nothing rates, every stage is skipped.
 * - fewer visual tokens than the table: k = min(table, V − 1); V ≤ 1 skips the stage.
 */
import type { RecycleVariant } from '../backend';
import type { LayerContext, ModelDims, PrunePlan, PruneMethod, RequestContext } from '../method';
import type { ParamValue } from '../params';
import {
  RECYCLE_TAU,
  RECYCLE_THETA,
  SPARSEVLM_STAGE_LAYERS,
  SPARSEVLM_V15_KEEP,
  isSparseBudget,
  scaleKeepCount,
  scaleStageLayers,
  simulateFixedSchedule,
  type SparseBudget,
} from '../schedule';
import { runScoredStage, type KeepDecision, type RecycleSettings, type ScoredStageArgs } from './scoredStage';
import type { RaterAttention } from '../backend';

export class BudgetError extends Error {
  constructor(
    readonly method: string,
    readonly budget: unknown,
    readonly known: readonly number[],
  ) {
    super(`method ${method} has keep tables for budgets ${known.join(', ')}; got ${String(budget)}`);
    this.name = 'BudgetError';
  }
}

export type ResolvedParams = Record<string, ParamValue | null>;

/** The paper-variant switches resolved: explicit value, else paper when `paperVariants`, else code. */
export function resolveVariants(params: ResolvedParams): { inclusive: boolean; variant: RecycleVariant } {
  const paper = params.paperVariants === true;
  const pick = <T extends string>(name: string, code: T, paperValue: T): T =>
    (params[name] as T | null) ?? (paper ? paperValue : code);
  return {
    inclusive: pick('threshold', 'strict', 'inclusive') === 'inclusive',
    variant: {
      assignment: pick('assignment', 'euclidean', 'cosine'),
      merge: pick('merge', 'mean', 'sum'),
      densestDelta: pick('densestDelta', 'global-max', 'row-max'),
    },
  };
}

export class SparseVlm implements PruneMethod {
  readonly name: string = 'sparsevlm';
  readonly decodePositions: PruneMethod['decodePositions'] = 'per-layer-cache-length';
  readonly params: Readonly<Record<string, ParamValue>>;
  protected readonly positions: 'renumber' | 'keep' = 'renumber';
  /** Layers after which a stage runs, scaled to the model. */
  readonly stageLayers: readonly number[];
  protected readonly recycling: RecycleSettings | null;
  protected readonly inclusive: boolean;
  protected readonly useRaters: boolean;

  /** Per request: rater rows relative to the text start (null = the request has no text). */
  private raterText: number[] | null = null;
  private selection: { relevance: number[]; raters: number[] } | null = null;

  constructor(
    protected readonly budget: SparseBudget,
    protected readonly resolved: ResolvedParams,
    protected readonly dims: ModelDims,
  ) {
    this.stageLayers = scaleStageLayers(this.referenceStageLayers(), dims.numLayers);
    const { inclusive, variant } = resolveVariants(resolved);
    this.inclusive = inclusive;
    this.useRaters = resolved.raters !== false;
    const tau = (resolved.tau as number | null) ?? RECYCLE_TAU;
    const theta = (resolved.theta as number | null) ?? RECYCLE_THETA;
    this.recycling = resolved.recycling === true ? { tau, theta, variant } : null;
    const shown: Record<string, ParamValue> = { budget };
    for (const [k, v] of Object.entries(resolved)) if (v !== null) shown[k] = v;
    this.params = { ...shown, threshold: inclusive ? 'inclusive' : 'strict', ...variant };
  }

  /** The 32-layer reference's stage layers. */
  protected referenceStageLayers(): readonly number[] {
    return SPARSEVLM_STAGE_LAYERS;
  }

  /** Keep table for this budget, scaled to the model's visual-token count. */
  protected keepTable(): readonly number[] {
    return SPARSEVLM_V15_KEEP[this.budget].map((k) => scaleKeepCount(k, this.dims.visualTokens));
  }

  /** v1.5: the fixed table. v1 overrides with the rank rule. */
  protected async decideKeep(
    stage: number,
    _attention: RaterAttention,
    _visualCount: number,
    _ctx: LayerContext,
  ): Promise<KeepDecision> {
    return { keep: this.keepTable()[stage] };
  }

  /** v1.5: plain head mean over all heads. v2 overrides (gravity, top heads). */
  protected attentionOptions(_ctx: LayerContext): ScoredStageArgs['attention'] {
    return undefined;
  }

  async begin(ctx: RequestContext): Promise<PrunePlan | null> {
    const textLength = ctx.layout.textLength;
    this.selection = null;
    this.raterText = null;
    if (textLength === 0) return null;
    const allText = Array.from({ length: textLength }, (_, i) => i);
    if (!this.useRaters) {
      this.raterText = allText;
      return null;
    }
    const selection = await ctx.backend.raterSelect(ctx.visualEmbeds, ctx.textEmbeds, { inclusive: this.inclusive });
    const raters = Array.from(selection.raters);
    this.selection = { relevance: Array.from(selection.relevance), raters };
    this.raterText = raters.length > 0 ? raters : allText;
    return null;
  }

  raterSelection(): { relevance: number[]; raters: number[] } | null {
    return this.selection;
  }

  /** Only after its stage layers (fixed for v1 too: only v1's keep counts depend on the input). */
  actsAfter(layer: number): boolean {
    return this.stageLayers.includes(layer);
  }

  async afterLayer(ctx: LayerContext): Promise<PrunePlan | null> {
    const stage = this.stageLayers.indexOf(ctx.layer);
    if (stage < 0 || this.raterText === null) return null;
    const textStart = ctx.layout.preLength + ctx.layout.visualCount;
    return runScoredStage({
      ctx,
      stage,
      queryRows: this.raterText.map((i) => textStart + i),
      attention: this.attentionOptions(ctx),
      decideKeep: (attention, visualCount) => this.decideKeep(stage, attention, visualCount, ctx),
      recycling: this.recycling,
      positions: this.positions,
    });
  }

  planVisualCounts(dims: ModelDims): number[] | null {
    const table = this.keepTable();
    const stages = this.stageLayers.map((layer, i) => ({ layer, keep: table[i] }));
    return simulateFixedSchedule(dims.numLayers, dims.visualTokens, stages, this.recycling);
  }
}

export function requireSparseBudget(method: string, budget: number | undefined): SparseBudget {
  const value = budget ?? 192;
  if (!isSparseBudget(value)) throw new BudgetError(method, budget, [192, 128, 96, 64]);
  return value;
}

export function createSparseVlm(budget: number | undefined, params: ResolvedParams, dims: ModelDims): SparseVlm {
  return new SparseVlm(requireSparseBudget('sparsevlm', budget), params, dims);
}
