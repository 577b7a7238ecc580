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

export async function readU32(backend: PruneBackend, tensor: BTensor): Promise<Uint32Array> {
  const host = await backend.read(tensor);
  return host instanceof Uint32Array ? host : Uint32Array.from(host);
}

export async function readF32(backend: PruneBackend, tensor: BTensor): Promise<Float32Array> {
  const host = await backend.read(tensor);
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
export function buildPlan(pieces: PlanPieces): PrunePlan {
  const mergedCount = pieces.mergedIds.length;
  const rows = sequenceRows(pieces.layout, pieces.keptVisual, mergedCount, sequenceLength(pieces.layout));
  const origin = new Int32Array(pieces.keptVisual.length + mergedCount);
  for (let i = 0; i < pieces.keptVisual.length; i++) origin[i] = pieces.visualOrigin[pieces.keptVisual[i]];
  for (let c = 0; c < mergedCount; c++) origin[pieces.keptVisual.length + c] = pieces.mergedIds[c];
  return {
    rows: pieces.backend.upload(rows, [rows.length]),
    merged: pieces.merged,
    layout: { preLength: pieces.layout.preLength, visualCount: origin.length, textLength: pieces.layout.textLength },
    positions: pieces.positions,
    visualOrigin: origin,
    trace: pieces.trace,
  };
}

/** Cache index of the last prompt token (FastV's and PDrop's single query row). */
export function lastPromptRow(layout: SequenceLayout): number {
  return sequenceLength(layout) - 1;
}
