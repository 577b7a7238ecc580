/**
 * How clearly each pruning decision of a run was won: a CPU prune backend that makes the same
 * decisions as CpuPruneBackend (it is one) and records, for each, the smallest relative gap
 * between what was chosen and the runner-up. Rounding that moves values by less than that gap
 * cannot change the decision; a backend whose f16 layers disagree by ~2 % can flip any gap
 * under 2 %. Plain code, used by the margins test and bench/gpu/f16-parity.ts.
 *
 * Gaps, all relative (|x − y| / max(|x|, |y|)), except where said:
 * - raters: each text token's relevance against the rater line 1/T.
 * - heads (v2's head choice): the kept-th head sum against the next.
 * - rank (v1): the smallest singular value counted against the tolerance, and the tolerance
 *   against the largest not counted (ratio − 1).
 * - topk: the k-th score against the (k+1)-th; recycle: the same at the end of the candidates.
 * - dpc: centres (log score, a difference of logs: reported as exp(Δ) − 1), the density order
 *   wherever swapping two tokens' densities would change the centres or the assignment, and
 *   each token's nearest centre against its second.
 * - divprune: each greedy pick's min-distance against the best token not picked.
 * Greedy tokens: the reference runner's own top-1 minus top-2 logit (absolute, in logits).
 */
import { CpuPruneBackend, CpuTensor } from '../prune/cpuBackend';
import type {
  DpcKnnMerge,
  RaterAttention,
  RaterAttentionArgs,
  RaterSelection,
  RecycleVariant,
  TopkKeep,
} from '../prune/backend';
import type { BTensor } from '../common/tensor';
import { f16ToF32 } from '../common/float16';
import { RATER_BAND } from '../gpu/kernels/rater_select.reference';
import { raterAttentionReference } from '../gpu/kernels/rater_attention.reference';
import { EPS_F32, singularValuesReference } from '../gpu/kernels/rank_estimate.reference';
import { dpcKnnMergeReference, NO_SPREAD } from '../gpu/kernels/dpc_knn_merge.reference';
import { cosineDistanceMatrix } from '../gpu/kernels/divprune_select.reference';

export type DecisionKind =
  'raters' | 'heads' | 'rank' | 'topk' | 'recycle' | 'dpc-centres' | 'dpc-density' | 'dpc-assign' | 'divprune';

export interface DecisionMargin {
  kind: DecisionKind;
  /** Smallest relative gap of this decision (Infinity where nothing competed). */
  gap: number;
  note: string;
}

const rel = (x: number, y: number) => {
  const m = Math.max(Math.abs(x), Math.abs(y));
  return m === 0 ? 0 : Math.abs(x - y) / m;
};

function values(t: BTensor): Float32Array {
  const d = (t as CpuTensor).data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Uint16Array) return f16ToF32(d);
  return Float32Array.from(d);
}

/** DPC-kNN centres and assignment from given log densities (the reference's rules). */
function dpcOutcome(
  distance: Float64Array,
  logDensity: ArrayLike<number>,
  N: number,
  C: number,
  variant: RecycleVariant,
) {
  let globalMax = 0;
  for (const d of distance) globalMax = Math.max(globalMax, d);
  const denser = (j: number, i: number) => logDensity[j] > logDensity[i] || (logDensity[j] === logDensity[i] && j < i);
  const logScore = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let rowMax = 0;
    for (let j = 0; j < N; j++) {
      rowMax = Math.max(rowMax, distance[i * N + j]);
      if (denser(j, i)) best = Math.min(best, distance[i * N + j]);
    }
    const delta = best === Infinity ? (variant.densestDelta === 'global-max' ? globalMax : rowMax) : best;
    logScore[i] = delta > 0 ? logDensity[i] + Math.log(delta) : NO_SPREAD;
  }
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => logScore[b] - logScore[a] || a - b);
  const centers = order.slice(0, C);
  const assignment = Array.from({ length: N }, (_, i) => {
    const own = centers.indexOf(i);
    if (own >= 0) return own;
    let best = 0;
    for (let c = 1; c < C; c++) if (distance[i * N + centers[c]] < distance[i * N + centers[best]]) best = c;
    return best;
  });
  return { logScore, order, centers, assignment: assignment.join(',') };
}

export class MarginProbe extends CpuPruneBackend {
  readonly margins: DecisionMargin[] = [];
  private lastScores: Float32Array | null = null;

  private note(kind: DecisionKind, gap: number, note: string): void {
    this.margins.push({ kind, gap, note });
  }

  override async raterSelect(visual: BTensor, text: BTensor, opts?: { inclusive?: boolean }): Promise<RaterSelection> {
    const sel = await super.raterSelect(visual, text, opts);
    const line = 1 / sel.relevance.length;
    const gaps = Array.from(sel.relevance, (m) => rel(m, line));
    this.note(
      'raters',
      Math.min(...gaps) - RATER_BAND,
      `relevance ${Array.from(sel.relevance, (m) => m.toFixed(3)).join(' ')} vs 1/T ${line.toFixed(3)}`,
    );
    return sel;
  }

  override raterAttention(query: BTensor, key: BTensor, args: RaterAttentionArgs): RaterAttention {
    const out = super.raterAttention(query, key, args);
    if (args.topHeads !== undefined) {
      const [H, Lq, hd] = query.shape;
      const [Hkv, Tk] = key.shape;
      const rows = (args.queryRows as CpuTensor).data;
      const res = raterAttentionReference(
        values(query),
        values(key),
        rows,
        { heads: H, kvHeads: Hkv, headDim: hd, queryLength: Lq, keyLength: Tk },
        {
          visualStart: args.visualStart,
          visualCount: args.visualCount,
          gravity: args.gravity && {
            positions: Int32Array.from((args.gravity.positions as CpuTensor).data),
            ropeTheta: args.gravity.ropeTheta,
          },
        },
      );
      const per = res.perHead.length / H;
      const sums = Array.from({ length: H }, (_, h) =>
        res.perHead.subarray(h * per, (h + 1) * per).reduce((a, b) => a + b, 0),
      );
      const sorted = [...sums].sort((a, b) => b - a);
      const k = args.topHeads;
      this.note(
        'heads',
        k < H ? rel(sorted[k - 1], sorted[k]) : Infinity,
        `head sums ${sums.map((s) => s.toFixed(3)).join(' ')}, keep ${k}`,
      );
    }
    return out;
  }

  override async rankEstimate(block: BTensor): Promise<number> {
    const rank = await super.rankEstimate(block);
    const [R, V] = block.shape;
    const sigma = singularValuesReference(values(block), R, V);
    const tol = sigma[0] * Math.max(R, V) * EPS_F32;
    const counted = rank > 0 ? sigma[rank - 1] / tol - 1 : Infinity;
    const dropped = rank < sigma.length ? tol / Math.max(sigma[rank], 1e-300) - 1 : Infinity;
    this.note(
      'rank',
      Math.min(counted, dropped),
      `rank ${rank}; σ ${Array.from(sigma, (s) => s.toExponential(2)).join(' ')}; tol ${tol.toExponential(2)}`,
    );
    return rank;
  }

  override topkKeep(scores: BTensor, k: number): TopkKeep {
    const s = values(scores);
    this.lastScores = s;
    const sorted = [...s].sort((a, b) => b - a);
    if (k < s.length)
      this.note(
        'topk',
        rel(sorted[k - 1], sorted[k]),
        `k ${k} of ${s.length}: ${sorted[k - 1].toExponential(3)} vs ${sorted[k].toExponential(3)}`,
      );
    return super.topkKeep(scores, k);
  }

  override selectRows(src: BTensor, start: number, count: number, add: number): BTensor {
    const s = this.lastScores;
    if (s && start + count < s.length) {
      const sorted = [...s].sort((a, b) => b - a);
      const end = start + count;
      this.note('recycle', rel(sorted[end - 1], sorted[end]), `candidates end at ${end} of ${s.length}`);
    }
    return super.selectRows(src, start, count, add);
  }

  override dpcKnnMerge(hidden: BTensor, candidates: BTensor, clusters: number, variant: RecycleVariant): DpcKnnMerge {
    const rows = (candidates as CpuTensor).data;
    const N = rows.length;
    const D = hidden.shape[1];
    const ref = dpcKnnMergeReference(values(hidden), D, rows, clusters, variant);
    const base = dpcOutcome(ref.distance, ref.logDensity, N, clusters, variant);
    // One cluster takes every candidate whichever token is its centre: nothing to decide.
    if (clusters > 1 && clusters < N) {
      const a = base.logScore[base.order[clusters - 1]];
      const b = base.logScore[base.order[clusters]];
      this.note(
        'dpc-centres',
        b === NO_SPREAD ? Infinity : Math.expm1(a - b),
        `log scores ${Array.from(base.order, (i) => base.logScore[i].toFixed(3)).join(' ')}`,
      );
    }
    // Density order: the smallest relative difference between two tokens whose swap changes the outcome.
    let density = Infinity;
    let pair = '';
    for (let i = 0; i < N; i++)
      for (let j = i + 1; j < N; j++) {
        const swapped = Float64Array.from(ref.logDensity);
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        const o = dpcOutcome(ref.distance, swapped, N, clusters, variant);
        if (o.centers.join() !== base.centers.join() || o.assignment !== base.assignment) {
          const g = rel(ref.logDensity[i], ref.logDensity[j]);
          if (g < density)
            [density, pair] = [
              g,
              `${i}/${j} (log ρ ${ref.logDensity[i].toExponential(3)} vs ${ref.logDensity[j].toExponential(3)})`,
            ];
        }
      }
    this.note('dpc-density', density, `N ${N}, C ${clusters}${pair ? `; closest deciding pair ${pair}` : ''}`);
    if (clusters > 1) {
      let assign = Infinity;
      for (let i = 0; i < N; i++) {
        if (base.centers.includes(i)) continue;
        const d = base.centers.map((c) => ref.distance[i * N + c]).sort((x, y) => x - y);
        assign = Math.min(assign, rel(d[0], d[1]));
      }
      this.note('dpc-assign', assign, `nearest vs second centre`);
    }
    return super.dpcKnnMerge(hidden, candidates, clusters, variant);
  }

  override diversitySelect(visual: BTensor, k: number): BTensor {
    const [V, D] = visual.shape;
    const dist = cosineDistanceMatrix(values(visual), V, D);
    const minDist = new Float64Array(V);
    for (let j = 0; j < V; j++) {
      let m = Infinity;
      for (let i = 0; i < V; i++) if (i !== j) m = Math.min(m, dist[i * V + j]);
      minDist[j] = m;
    }
    const picked = new Uint8Array(V);
    let gap = Infinity;
    const steps: string[] = [];
    for (let t = 0; t < k; t++) {
      const free = Array.from({ length: V }, (_, j) => j)
        .filter((j) => !picked[j])
        .sort((a, b) => minDist[b] - minDist[a] || a - b);
      if (free.length > 1) {
        const g = rel(minDist[free[0]], minDist[free[1]]);
        gap = Math.min(gap, g);
        steps.push(`${free[0]} over ${free[1]} by ${g.toFixed(3)}`);
      }
      const best = free[0];
      picked[best] = 1;
      for (let j = 0; j < V; j++) minDist[j] = t === 0 ? dist[best * V + j] : Math.min(minDist[j], dist[best * V + j]);
    }
    this.note('divprune', gap, `${k} picks of ${V}: ${steps.join('; ')}`);
    return super.diversitySelect(visual, k);
  }
}

/** The smallest gap per kind (Infinity: no such decision). */
export function smallestByKind(margins: readonly DecisionMargin[]): Partial<Record<DecisionKind, number>> {
  const out: Partial<Record<DecisionKind, number>> = {};
  for (const m of margins) out[m.kind] = Math.min(out[m.kind] ?? Infinity, m.gap);
  return out;
}
