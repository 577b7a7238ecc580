/** Order statistics for a handful of runs: median and spread (min/max and the quartiles). */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Quartiles by linear interpolation between order statistics (type 7, numpy's default). */
  q1: number;
  q3: number;
  n: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread: no values');
  if (values.some((v) => !Number.isFinite(v)))
    throw new RangeError(`spread: non-finite value in [${values.join(', ')}]`);
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0],
    max: s[s.length - 1],
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    n: s.length,
  };
}

/** Ratio of medians; null when the reference is zero (a figure `none` does not have, e.g. kernel time). */
export function ratio(value: Spread, reference: Spread): number | null {
  return reference.median === 0 ? (value.median === 0 ? 1 : null) : value.median / reference.median;
}
