/** Small helpers the format modules share. */
import type { FormatScores, ItemRecord } from '../types';

export const SINGLE_WORD = 'Answer the question using a single word or phrase.';
export const OPTION_LETTER = "Answer with the option's letter from the given choices directly.";

export const scoredOf = (records: ItemRecord[]) =>
  records.filter((r) => r.skipped === undefined && r.score !== undefined);

/** Mean of item scores in % (0 when nothing was scored). */
export function meanPercent(records: ItemRecord[]): number {
  const scored = scoredOf(records);
  return scored.length ? (100 * scored.reduce((s, r) => s + r.score!, 0)) / scored.length : 0;
}

export function accuracyScores(
  records: ItemRecord[],
  headlineName: string,
  figures: Record<string, number> = {},
): FormatScores {
  const scored = scoredOf(records);
  return {
    headline: meanPercent(records),
    headlineName,
    figures,
    scored: scored.length,
    skipped: records.length - scored.length,
  };
}

/** Per-group accuracy in %, keyed `accuracy.<group>`, groups sorted. */
export function groupAccuracy(
  records: ItemRecord[],
  groupOf: (r: ItemRecord) => string | undefined,
): Record<string, number> {
  const groups = new Map<string, ItemRecord[]>();
  for (const r of scoredOf(records)) {
    const g = groupOf(r);
    if (g === undefined) continue;
    groups.set(g, [...(groups.get(g) ?? []), r]);
  }
  return Object.fromEntries([...groups.keys()].sort().map((g) => [`accuracy.${g}`, meanPercent(groups.get(g)!)]));
}

export { isObject } from '../../common/json';
