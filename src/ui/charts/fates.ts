/**
 * What became of every image patch by a given layer, read from a RequestTrace alone.
 *
 * Token identity (trace.ts): a visual token is a patch index 0..Vp−1 or a negative merged id.
 * A stage at layer s decides after layer s ran; layers > s see its output, which is
 * [kept (sequence order) | merged tokens made at this stage]. A stage before layer 0
 * (DivPrune) has s = −1. "At layer L" means the visual tokens entering layer L.
 */
import type { RequestTrace, StageTrace } from '../../common/trace';

export type FateState = 'kept' | 'merged' | 'dropped';

export interface PatchFate {
  patch: number;
  state: FateState;
  /** The token carrying this patch at the layer: the patch itself, a merged id, or null when dropped. */
  token: number | null;
  /** Score of that token (or, if dropped, its last score) and its rank (1 = highest) among the stage's tokens. */
  score: number | null;
  rank: number | null;
  /** The stage layer that computed `score`. */
  scoreLayer: number | null;
  /** Layer of the stage that merged or dropped it (state merged/dropped), else null. */
  atLayer: number | null;
  /** What happens to it after this layer, when a later stage drops or merges it. */
  later: { state: 'merged' | 'dropped'; atLayer: number; token: number | null } | null;
}

/** Visual tokens after a stage: kept, then this stage's merged tokens not already listed. */
export function stageOutput(stage: StageTrace): number[] {
  const out = stage.kept.slice();
  const present = new Set(out);
  for (const m of stage.merges) if (!present.has(m.id)) out.push(m.id);
  return out;
}

/** Number of patches Vp: the earliest stage's input (the vision tower's tokens), else layer 0's count. */
export function patchCount(trace: RequestTrace): number {
  const first = orderedStages(trace)[0];
  return first ? first.visualIn : (trace.visualPerLayer[0] ?? trace.layout.visualCount);
}

/** Stages in layer order. */
function orderedStages(trace: RequestTrace): StageTrace[] {
  return trace.stages.slice().sort((a, b) => a.layer - b.layer);
}

/** The visual tokens entering `layer`, in sequence order (original coordinates). */
export function tokensAtLayer(trace: RequestTrace, layer: number): number[] {
  let tokens = Array.from({ length: patchCount(trace) }, (_, i) => i);
  for (const stage of orderedStages(trace)) if (stage.layer < layer) tokens = stageOutput(stage);
  return tokens;
}

interface Walk {
  /** token id → patches it carries (merged ids expand through earlier merges). */
  members: Map<number, number[]>;
}

function expand(walk: Walk, token: number): number[] {
  return token >= 0 ? [token] : (walk.members.get(token) ?? []);
}

/** Rank (1 = highest) of each position in `scores`; ties share the better rank. */
function ranks(scores: number[]): number[] {
  const sorted = scores.slice().sort((a, b) => b - a);
  const firstAt = new Map<number, number>();
  sorted.forEach((s, i) => {
    if (!firstAt.has(s)) firstAt.set(s, i);
  });
  return scores.map((s) => firstAt.get(s)! + 1);
}

/** One PatchFate per patch 0..Vp−1 at `layer`. */
export function patchFates(trace: RequestTrace, layer: number): PatchFate[] {
  const count = patchCount(trace);
  const walk: Walk = { members: new Map() };
  const fates: PatchFate[] = Array.from({ length: count }, (_, patch) => ({
    patch,
    state: 'kept',
    token: patch,
    score: null,
    rank: null,
    scoreLayer: null,
    atLayer: null,
    later: null,
  }));
  let tokens = Array.from({ length: count }, (_, i) => i);
  let scoredAlive = false; // have the tokens alive at `layer` been scored by a stage ≥ layer?

  for (const stage of orderedStages(trace)) {
    const applied = stage.layer < layer;
    // Scores belong to the stage's input tokens, in sequence order.
    // Applied stages leave each patch its last score (a dropped patch keeps the one that
    // dropped it); the first stage at or after `layer` scores exactly the tokens alive there.
    if (stage.scores.length === tokens.length && (applied || !scoredAlive)) {
      const rankOf = ranks(stage.scores);
      tokens.forEach((token, i) => {
        for (const p of expand(walk, token)) {
          fates[p].score = stage.scores[i];
          fates[p].rank = rankOf[i];
          fates[p].scoreLayer = stage.layer;
        }
      });
      if (!applied) scoredAlive = true;
    }
    for (const m of stage.merges) {
      const patches = [...new Set(m.members.flatMap((t) => expand(walk, t)))];
      walk.members.set(m.id, patches);
    }
    const out = stageOutput(stage);
    const alive = new Set(out);
    const mergedInto = new Map<number, number>();
    for (const m of stage.merges) for (const t of m.members) mergedInto.set(t, m.id);
    for (const token of tokens) {
      if (alive.has(token)) continue;
      const into = mergedInto.get(token);
      const fateState: 'merged' | 'dropped' = into !== undefined && alive.has(into) ? 'merged' : 'dropped';
      for (const p of expand(walk, token)) {
        const f = fates[p];
        if (applied) {
          f.state = fateState;
          f.atLayer = stage.layer;
          f.token = fateState === 'merged' ? into! : null;
        } else if (f.later === null) {
          f.later = { state: fateState, atLayer: stage.layer, token: fateState === 'merged' ? into! : null };
        }
      }
    }
    // A patch merged earlier rides along with its merged token: update the carrier id.
    if (applied)
      for (const id of out)
        if (id < 0)
          for (const p of expand(walk, id)) {
            if (fates[p].state !== 'dropped') {
              fates[p].state = 'merged';
              fates[p].token = id;
            }
          }
    tokens = out;
  }
  return fates;
}

/** Merged groups alive at `layer`: merged id → patches, in order of first appearance. */
export function mergedGroupsAtLayer(trace: RequestTrace, layer: number): { id: number; patches: number[] }[] {
  const groups = new Map<number, number[]>();
  for (const f of patchFates(trace, layer)) {
    if (f.state !== 'merged' || f.token === null) continue;
    const list = groups.get(f.token) ?? [];
    list.push(f.patch);
    groups.set(f.token, list);
  }
  return [...groups].map(([id, patches]) => ({ id, patches }));
}

/** Where a stage acts, in words: its layer −1 (DivPrune) is before the language model's first layer. */
const stageWords = (layer: number | null) =>
  layer === null ? '' : layer < 0 ? 'before the first layer' : `after layer ${layer}`;

/**
 * A patch's fate in words, for the hover line. No internal numbers: merged tokens (negative ids
 * in the trace) are described by how many patches they hold (`groupSize`, when known). `subject`
 * names it (a frame's CLS token is no patch).
 */
export function describeFate(fate: PatchFate, groupSize?: number, subject = `patch ${fate.patch}`): string {
  const score =
    fate.score === null
      ? ''
      : ` · score ${fate.score.toPrecision(3)} (rank ${fate.rank} ${stageWords(fate.scoreLayer)})`;
  let what: string;
  if (fate.state === 'kept') what = 'kept';
  else if (fate.state === 'merged') {
    const others =
      groupSize === undefined ? 'other patches' : `${groupSize - 1} other patch${groupSize === 2 ? '' : 'es'}`;
    what = `merged with ${others} into one token ${stageWords(fate.atLayer)}`;
  } else what = `dropped ${stageWords(fate.atLayer)}`;
  const later =
    fate.later === null
      ? ''
      : fate.later.state === 'dropped'
        ? ` · later dropped ${stageWords(fate.later.atLayer)}`
        : ` · later merged with other patches ${stageWords(fate.later.atLayer)}`;
  return `${subject}: ${what}${score}${later}`;
}

/** Patches per merged token at a layer (for describeFate's group size). */
export function groupSizes(fates: PatchFate[]): Map<number, number> {
  const sizes = new Map<number, number>();
  for (const f of fates)
    if (f.state === 'merged' && f.token !== null) sizes.set(f.token, (sizes.get(f.token) ?? 0) + 1);
  return sizes;
}

/** One image's range of the visual span (TraceImage): `patches` tokens from `origin`, the first `leading` not grid patches. */
export type ImagePart = { origin: number; patches: number; leading?: number };

/** The grid patches of an image's range: after its leading tokens (a Video-LLaVA frame's CLS). */
export function gridPart(part: ImagePart): { origin: number; patches: number } {
  const leading = part.leading ?? 0;
  return { origin: part.origin + leading, patches: part.patches - leading };
}

/**
 * One image's grid patches out of the visual span's fates (trace.images: image k's patch p is span
 * token `origin + leading + p`), renumbered from 0 so they lay out on that image's grid.
 */
export function imageFates(fates: PatchFate[], part: ImagePart): PatchFate[] {
  const grid = gridPart(part);
  return fates.slice(grid.origin, grid.origin + grid.patches).map((f) => ({ ...f, patch: f.patch - grid.origin }));
}

/** An image's leading tokens (a frame's CLS), index 0 … leading − 1; [] for an image of patches only. */
export function leadingFates(fates: PatchFate[], part: ImagePart): PatchFate[] {
  return fates
    .slice(part.origin, part.origin + (part.leading ?? 0))
    .map((f) => ({ ...f, patch: f.patch - part.origin }));
}

/** Grid patches of each image at `layer` by fate (its leading tokens apart: leadingFates). */
export function imageCounts(fates: PatchFate[], part: ImagePart): { kept: number; merged: number; dropped: number } {
  const counts = { kept: 0, merged: 0, dropped: 0 };
  for (const f of imageFates(fates, part)) counts[f.state]++;
  return counts;
}

/** One image's share of the visual tokens layer by layer (the cost panel's per-frame rows). */
export interface ImageTokenLayers {
  name: string;
  frame?: { index: number; of: number };
  patches: number;
  perLayer: number[];
  share: number;
}

/**
 * For each image of trace.images, the visual tokens carrying its tokens entering each layer —
 * its kept patches (and leading CLS) plus each merged token holding one of them (a token merged
 * across two images counts for both) — and their sum over layers against the unpruned
 * tokens × layers.
 */
export function imageTokenLayers(trace: RequestTrace): ImageTokenLayers[] {
  const images = trace.images;
  if (!images) return [];
  const layers = trace.visualPerLayer.length;
  const perLayer = images.map(() => [] as number[]);
  for (let layer = 0; layer < layers; layer++) {
    const fates = patchFates(trace, layer);
    images.forEach((im, k) => {
      // Every token of the image's range: a frame's CLS costs a row of each layer like a patch.
      const part = fates.slice(im.origin, im.origin + im.patches);
      const merged = new Set(part.filter((f) => f.state === 'merged').map((f) => f.token));
      perLayer[k].push(part.filter((f) => f.state === 'kept').length + merged.size);
    });
  }
  return images.map((im, k) => ({
    name: im.name,
    ...(im.frame ? { frame: im.frame } : {}),
    patches: im.patches,
    perLayer: perLayer[k],
    share: perLayer[k].reduce((a, b) => a + b, 0) / (im.patches * layers),
  }));
}
