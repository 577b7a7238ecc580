/** The rater view's data: the question's tokens with relevance shading (paper Fig. 3). */
import type { RaterTrace } from '../../common/trace';

export interface RaterToken {
  index: number;
  text: string;
  relevance: number;
  shade: number;
  isRater: boolean;
}

/** shade in [0,1]: relevance relative to the largest; raters are the tokens above the mean (1/T). */
export function raterTokens(raters: RaterTrace): RaterToken[] {
  const top = Math.max(...raters.relevance, 0);
  const chosen = new Set(raters.raters);
  return raters.tokenIds.map((id, index) => ({
    index,
    text: raters.tokenTexts?.[index] ?? `#${id}`,
    relevance: raters.relevance[index] ?? 0,
    shade: top > 0 ? (raters.relevance[index] ?? 0) / top : 0,
    isRater: chosen.has(index),
  }));
}
