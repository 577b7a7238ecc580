/**
 * Pieces every method's stage shares: the row list of the new sequence, host reads, the
 * plan record. Ownership: a method releases every backend tensor it made except the plan's
 * `rows` and `merged`, which pass to the engine (it releases them after `gather`).
 */
import type { PruneBackend } from '../backend';
import type { PrunePlan, SequenceLayout } from '../method';
import type { StageTrace } from '../../common/trace';
import type { BTensor } from '../../common/tensor';

/** Wall clock in ms (performance.now exists in browsers, workers and Node ≥ 16). */
export const nowMs = (): number => performance.now();

/**
 * Rows of the new sequence in concat(hidden (L, D), merged (C, D)):
 * [pre-prompt | kept visual, sequence order | C merged | text]. (L') u32
 */
export function sequenceRows(
  layout: SequenceLayout,
  keptVisual: ArrayLike<number>,
  mergedCount: number,
  sequenceLength: number,
): Uint32Array {
  const { preLength, visualCount, textLength } = layout;
  const rows = new Uint32Array(preLength + keptVisual.length + mergedCount + textLength);
  let o = 0;
  for (let i = 0; i < preLength; i++) rows[o++] = i;
  for (let i = 0; i < keptVisual.length; i++) rows[o++] = preLength + keptVisual[i];
  for (let c = 0; c < mergedCount; c++) rows[o++] = sequenceLength + c;
  for (let i = 0; i < textLength; i++) rows[o++] = preLength + visualCount + i;
  return rows;
}

export async function readU32(backend: PruneBackend, t: BTensor): Promise<Uint32Array> {
  const host = await backend.read(t);
  return host instanceof Uint32Array ? host : Uint32Array.from(host);
}

export async function readF32(backend: PruneBackend, t: BTensor): Promise<Float32Array> {
  const host = await backend.read(t);
  return host instanceof Float32Array ? host : Float32Array.from(host);
}

export function sequenceLength(layout: SequenceLayout): number {
  return layout.preLength + layout.visualCount + layout.textLength;
}

/** Merged-token id in original coordinates: −(1000·stage + c + 1), stage 0-based in the method's schedule. */
export function mergedTokenId(stage: number, cluster: number): number {
  return -(1000 * stage + cluster + 1);
}

export interface PlanPieces {
  backend: PruneBackend;
  layout: SequenceLayout;
  /** Indices into the current visual tokens, ascending. */
  keptVisual: Uint32Array;
  merged: BTensor | null;
  mergedIds: number[];
  positions: 'renumber' | 'keep';
  visualOrigin: Int32Array;
  trace: StageTrace;
}

/** Builds the plan: uploads the row list, maps the survivors' origins, appends merged ids. */
export function buildPlan(p: PlanPieces): PrunePlan {
  const mergedCount = p.mergedIds.length;
  const rows = sequenceRows(p.layout, p.keptVisual, mergedCount, sequenceLength(p.layout));
  const origin = new Int32Array(p.keptVisual.length + mergedCount);
  for (let i = 0; i < p.keptVisual.length; i++) origin[i] = p.visualOrigin[p.keptVisual[i]];
  for (let c = 0; c < mergedCount; c++) origin[p.keptVisual.length + c] = p.mergedIds[c];
  return {
    rows: p.backend.upload(rows, [rows.length]),
    merged: p.merged,
    layout: { preLength: p.layout.preLength, visualCount: origin.length, textLength: p.layout.textLength },
    positions: p.positions,
    visualOrigin: origin,
    trace: p.trace,
  };
}

/** Cache index of the last prompt token (FastV's and PDrop's single query row). */
export function lastPromptRow(layout: SequenceLayout): number {
  return sequenceLength(layout) - 1;
}
