import { checkLength } from './errors';

/**
 * CPU twin of shaders/rater_select.wgsl (SPARSEVLM.md step 1), f64 accumulation.
 *
 * M = softmax over text of Hv·Htᵀ (no 1/√D scale), m = mean of M over visual rows (T).
 * Raters: m_i > 1/T (strict, the code) or m_i ≥ 1/T (inclusive, the paper). Since every
 * softmax row sums to 1, mean(m) = 1/T exactly; we compare against 1/T with a relative
 * band of RATER_BAND so that all-equal relevance (every m_i = 1/T up to rounding) is
 * decided the same way on CPU and GPU: strict → no raters, inclusive → all raters.
 * A single text token (T = 1) therefore gives no raters (strict) or [0] (inclusive).
 */
export const RATER_BAND = 1e-6;

export interface RaterSelectResult {
  relevance: Float32Array; // (T)
  raters: Uint32Array; // (R) ascending text-relative indices
}

export function isRater(m: number, textCount: number, inclusive: boolean): boolean {
  const mean = 1 / textCount;
  return inclusive ? m >= mean * (1 - RATER_BAND) : m > mean * (1 + RATER_BAND);
}

export function raterSelectReference(
  visual: Float32Array, // (V, D)
  text: Float32Array, // (T, D)
  visualCount: number,
  textCount: number,
  hidden: number,
  inclusive = false,
): RaterSelectResult {
  checkLength('raterSelect', 'visual', visual, visualCount * hidden);
  checkLength('raterSelect', 'text', text, textCount * hidden);
  const acc = new Float64Array(textCount);
  const logits = new Float64Array(textCount);
  for (let v = 0; v < visualCount; v++) {
    let max = -Infinity;
    for (let t = 0; t < textCount; t++) {
      let dot = 0;
      const vo = v * hidden;
      const to = t * hidden;
      for (let d = 0; d < hidden; d++) dot += visual[vo + d] * text[to + d];
      logits[t] = dot;
      if (dot > max) max = dot;
    }
    let sum = 0;
    for (let t = 0; t < textCount; t++) {
      logits[t] = Math.exp(logits[t] - max);
      sum += logits[t];
    }
    for (let t = 0; t < textCount; t++) acc[t] += logits[t] / sum;
  }
  const relevance = new Float32Array(textCount);
  const raters: number[] = [];
  for (let t = 0; t < textCount; t++) {
    const m = visualCount > 0 ? acc[t] / visualCount : 0;
    relevance[t] = m;
    if (visualCount > 0 && isRater(m, textCount, inclusive)) raters.push(t);
  }
  return { relevance, raters: Uint32Array.from(raters) };
}
