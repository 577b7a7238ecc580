/**
 * One attention-scored pruning stage, shared by SparseVLM (all versions), FastV and PDrop:
 * score the current visual tokens with chosen query rows of the layer's own attention, keep
 * the top k in sequence order, optionally recycle the best pruned ones by DPC-kNN, and
 * return the plan. The methods differ only in the query rows, the attention options, how k
 * is decided and whether recycling runs.
 */
import type { RaterAttention, RaterAttentionArgs, ReadPart, RecycleVariant } from '../backend';
import type { LayerContext, PrunePlan } from '../method';
import type { StageTrace } from '../../common/trace';
import { recycleSizes } from '../schedule';
import { buildPlan, mergedTokenId, nowMs } from './stage';
import type { BTensor } from '../../common/tensor';

export interface RecycleSettings {
  tau: number;
  theta: number;
  variant: RecycleVariant;
}

/** The keep decision: k tokens survive top-k; `rank` goes to the trace. null = skip the stage. */
export type KeepDecision = { keep: number; rank?: number } | null;

export interface ScoredStageArgs {
  ctx: LayerContext;
  /** 0-based index of this stage in the method's schedule (names merged tokens). */
  stage: number;
  /** Cache indices of the query rows (raters, or the last prompt token). */
  queryRows: readonly number[];
  /** v2 gravity / head selection. */
  attention?: Pick<RaterAttentionArgs, 'gravity' | 'topHeads'>;
  /** Decide k from the scores (and the block, for v1's rank); V = visual tokens entering. */
  decideKeep: (attention: RaterAttention, visualCount: number) => Promise<KeepDecision>;
  recycling: RecycleSettings | null;
  positions: 'renumber' | 'keep';
}

/**
 * Runs the stage. Degenerate inputs: V ≤ 1 (nothing can be pruned while one token must be) or
 * no query rows → null before any kernel runs; k is clamped to [1, V − 1] so at least one token is
 * pruned and one kept; a recycling set of one token becomes one cluster (the token itself).
 */
export async function runScoredStage(args: ScoredStageArgs): Promise<PrunePlan | null> {
  const { ctx, stage, queryRows, recycling } = args;
  const { backend, layout } = ctx;
  const visualCount = layout.visualCount;
  if (visualCount <= 1 || queryRows.length === 0) return null;
  const started = nowMs();

  const rowsTensor = backend.upload(Uint32Array.from(queryRows), [queryRows.length]);
  const attention = backend.raterAttention(ctx.query, ctx.key, {
    queryRows: rowsTensor,
    visualStart: layout.preLength,
    visualCount,
    ...args.attention,
  });
  const release: BTensor[] = [rowsTensor, attention.block, attention.scores];
  try {
    const decision = await args.decideKeep(attention, visualCount);
    if (decision === null) return null;
    const keepCount = Math.min(Math.max(decision.keep, 1), visualCount - 1);

    // Everything up to the read stays on the GPU and is encoded without a wait: top-k, the
    // recycling candidates (the pruned tokens by descending score are order[k..V), topk_keep's
    // contract), DPC-kNN. Then one read-back brings the decisions and the trace.
    const topk = backend.topkKeep(attention.scores, keepCount);
    release.push(topk.keep, topk.order);
    const prunedCount = visualCount - keepCount;
    const sizes = recycling && prunedCount > 0 ? recycleSizes(prunedCount, recycling.tau, recycling.theta) : null;
    let merge: ReturnType<typeof backend.dpcKnnMerge> | null = null;
    if (recycling && sizes) {
      // Recycling candidates as sequence rows: order[keepCount, keepCount + candidates) + preLength.
      const candidateTensor = backend.selectRows(topk.order, keepCount, sizes.candidates, layout.preLength);
      merge = backend.dpcKnnMerge(ctx.hidden, candidateTensor, sizes.clusters, recycling.variant);
      release.push(candidateTensor, merge.assignment, merge.centers);
    }
    const parts: ReadPart[] = [{ tensor: attention.scores }, { tensor: topk.keep }];
    if (merge && sizes)
      parts.push({ tensor: topk.order, offset: keepCount, count: sizes.candidates }, { tensor: merge.assignment });
    const [scoresHost, keepHost, candidateHost, assignmentHost] = await backend.readMany(parts);
    const scores = scoresHost instanceof Float32Array ? scoresHost : Float32Array.from(scoresHost);
    const keptVisual = keepHost instanceof Uint32Array ? keepHost : Uint32Array.from(keepHost);

    const origin = ctx.visualOrigin;
    const trace: StageTrace = {
      layer: ctx.layer,
      visualIn: visualCount,
      visualOut: keptVisual.length,
      kept: Array.from(keptVisual, (v) => origin[v]),
      scores: Array.from(scores),
      recycled: [],
      merges: [],
      ...(decision.rank !== undefined ? { rank: decision.rank } : {}),
    };

    let merged: BTensor | null = null;
    const mergedIds: number[] = [];
    if (merge && sizes && candidateHost && assignmentHost) {
      const candidateVisual = Array.from(candidateHost);
      const assignment = assignmentHost;
      merged = merge.merged;
      trace.recycled = candidateVisual.map((v) => origin[v]);
      for (let c = 0; c < sizes.clusters; c++) {
        const id = mergedTokenId(stage, c);
        mergedIds.push(id);
        trace.merges.push({ id, members: candidateVisual.filter((_, i) => assignment[i] === c).map((v) => origin[v]) });
      }
      trace.visualOut += sizes.clusters;
    }
    trace.ms = nowMs() - started;
    return buildPlan({
      backend,
      layout,
      keptVisual,
      merged,
      mergedIds,
      positions: args.positions,
      visualOrigin: origin,
      trace,
    });
  } finally {
    for (const t of release) backend.release(t);
  }
}
