/**
 * What "the same pruned generation" means between two runs of one request (WebGPU vs wasm
 * engine, engine vs reference runner): the list of ways they differ, empty when they agree.
 * Plain code (no test framework), so the same rules serve the vitest suites
 * (prunedParity.testutil.ts) and the GPU machine's run log (bench/gpu/f16-parity.ts).
 *
 * Must be identical: per stage the layer, visual counts, kept set, merge groups (ids and
 * member sets), rank, the recycled set; the visual count entering every layer; raters; the
 * prompt ids and the greedy tokens. Scores agree within `rel` relative (not below 1% of the
 * stage's largest score: a score far below the top carries the absolute error of the sums
 * it came from). Recycling candidates are listed in descending score, so where the two lists
 * order them differently the tokens involved must be near-tied (within `rel`); the same
 * inside a merge group's member list (members are listed in recycling order).
 */
import type { GenerateResult } from './engine';
import type { StageTrace } from '../common/trace';

export interface ParityReport {
  problems: string[];
  worstScore: number;
  /** Order swaps between near-tied tokens (allowed; reported). */
  swaps: string[];
}

const near = (rel: number, a: number, b: number) => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Original id → score, for the visual tokens entering each stage (first stage: patches 0..V−1). */
function scoreMaps(stages: StageTrace[], visualTokens: number): Map<number, number>[] {
  let origin = Array.from({ length: visualTokens }, (_, i) => i);
  return stages.map((s) => {
    const m = new Map(origin.map((id, i) => [id, s.scores[i]]));
    origin = [...s.kept, ...s.merges.map((g) => g.id)];
    return m;
  });
}

export function stageParity(
  first: StageTrace[],
  second: StageTrace[],
  visualTokens: number,
  rel: number,
): ParityReport {
  const problems: string[] = [];
  const swaps: string[] = [];
  let worstScore = 0;
  const shape = (s: StageTrace[]) => s.map((x) => [x.layer, x.visualIn, x.visualOut]);
  if (!same(shape(first), shape(second)))
    return {
      problems: [`stages (layer, in, out): ${JSON.stringify(shape(first))} vs ${JSON.stringify(shape(second))}`],
      worstScore,
      swaps,
    };
  const scores = scoreMaps(first, visualTokens);
  first.forEach((g, i) => {
    const c = second[i];
    const where = `stage ${i} (layer ${g.layer})`;
    const swap = (what: string, x: number, y: number) => {
      const sx = scores[i].get(x)!;
      const sy = scores[i].get(y)!;
      swaps.push(`${where} ${what}: ${x} (${sx}) ↔ ${y} (${sy})`);
      if (!near(rel, sx, sy))
        problems.push(`${where}: ${what} differs (${x} vs ${y}) but the scores are not near-tied: ${sx} vs ${sy}`);
    };
    if (g.scores.length && g.scores.length !== visualTokens && i === 0)
      problems.push(`${where}: ${g.scores.length} scores for ${visualTokens} visual tokens`);
    if (!same(g.kept, c.kept)) problems.push(`${where}: kept ${JSON.stringify(g.kept)} vs ${JSON.stringify(c.kept)}`);
    if (
      !same(
        g.merges.map((m) => m.id),
        c.merges.map((m) => m.id),
      )
    )
      problems.push(`${where}: merge ids differ`);
    else
      g.merges.forEach((m, k) => {
        const other = c.merges[k];
        if (!same(sorted(m.members), sorted(other.members)))
          problems.push(
            `${where}: merge ${m.id} members ${JSON.stringify(sorted(m.members))} vs ${JSON.stringify(sorted(other.members))}`,
          );
        else
          m.members.forEach((id, j) => {
            if (id !== other.members[j]) swap(`merge ${m.id} member #${j}`, id, other.members[j]);
          });
      });
    if (g.rank !== c.rank) problems.push(`${where}: rank ${g.rank} vs ${c.rank}`);
    if (g.scores.length !== c.scores.length) problems.push(`${where}: ${g.scores.length} vs ${c.scores.length} scores`);
    const floor = 0.01 * Math.max(0, ...c.scores.map(Math.abs));
    let bad = 0;
    g.scores.forEach((v, j) => {
      const err = Math.abs(v - c.scores[j]);
      const scale = Math.max(Math.abs(v), Math.abs(c.scores[j]), floor);
      if (scale > 0) worstScore = Math.max(worstScore, err / scale);
      if (err > rel * scale + 1e-12) bad++;
    });
    if (bad)
      problems.push(
        `${where}: ${bad} scores differ by more than ${rel} relative (worst ${worstScore.toExponential(2)})`,
      );
    if (!same(sorted(g.recycled), sorted(c.recycled))) problems.push(`${where}: recycled sets differ`);
    else
      g.recycled.forEach((id, j) => {
        if (id !== c.recycled[j]) swap(`recycled #${j}`, id, c.recycled[j]);
      });
  });
  return { problems, worstScore, swaps };
}

/** Two engine results of the same request: stages, visual per layer, raters, ids, all 16 tokens. */
export function generationParity(
  first: GenerateResult,
  second: GenerateResult,
  visualTokens: number,
  rel: number,
): ParityReport {
  const r = stageParity(first.trace.stages, second.trace.stages, visualTokens, rel);
  if (!same(first.trace.visualPerLayer, second.trace.visualPerLayer))
    r.problems.push(
      `visual per layer ${first.trace.visualPerLayer.join('/')} vs ${second.trace.visualPerLayer.join('/')}`,
    );
  if (!same(first.trace.raters?.raters, second.trace.raters?.raters))
    r.problems.push(
      `raters ${JSON.stringify(first.trace.raters?.raters)} vs ${JSON.stringify(second.trace.raters?.raters)}`,
    );
  const ra = first.trace.raters?.relevance ?? [];
  const rb = second.trace.raters?.relevance ?? [];
  if (ra.length !== rb.length || ra.some((v, i) => !near(rel, v, rb[i])))
    r.problems.push(`rater relevance differs by more than ${rel} relative`);
  if (!same(first.inputIds, second.inputIds)) r.problems.push('prompt ids differ');
  if (!same(first.tokenIds, second.tokenIds))
    r.problems.push(`tokens ${first.tokenIds.join(' ')} vs ${second.tokenIds.join(' ')}`);
  return r;
}
