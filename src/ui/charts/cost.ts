/**
 * Geometry of the cost panel: visual tokens entering each layer (one line per run) and time
 * per phase (one stacked bar per run). Pure; CostPanel.tsx renders it and draws the axes.
 */
import {
  curveStepAfter,
  line,
  max,
  scaleBand,
  scaleLinear,
  schemeTableau10,
  type ScaleBand,
  type ScaleLinear,
} from 'd3';
import type { RequestTrace } from '../../common/trace';

export interface Size {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

export interface TokenLine {
  label: string;
  color: string;
  d: string;
  last: { x: number; y: number; value: number };
  /** Where its end label sits (spread from the others). */ labelY: number;
}

export interface TokenLinesLayout {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  lines: TokenLine[];
}

export function layoutTokenLines(series: { label: string; values: number[] }[], size: Size): TokenLinesLayout {
  const { width, height, margin } = size;
  const layers = max(series, (s) => s.values.length) ?? 1;
  // Layer l spans [l, l + 1]: the last layer's count is a step as wide as the others (with the
  // domain ending at the last layer it was a point; on a 4-layer model its count was not drawn).
  const x = scaleLinear([0, Math.max(1, layers)], [margin.left, width - margin.right]);
  const y = scaleLinear([0, max(series, (s) => max(s.values)) ?? 1], [height - margin.bottom, margin.top]).nice();
  // Step shape: the count holds across a layer and changes between layers.
  const path = line<number>(
    (_, i) => x(i),
    (v) => y(v),
  ).curve(curveStepAfter);
  const lines = series.map((s, i) => ({
    label: s.label,
    color: schemeTableau10[i % schemeTableau10.length],
    d: path(s.values.length > 0 ? [...s.values, s.values[s.values.length - 1]] : []) ?? '',
    last: {
      x: x(s.values.length),
      y: y(s.values[s.values.length - 1] ?? 0),
      value: s.values[s.values.length - 1] ?? 0,
    },
    labelY: 0,
  }));
  // Labels at the lines' ends, spread apart where several runs end at about the same count.
  const spread = spreadLabels(
    lines.map((l) => l.last.y),
    LABEL_GAP,
    margin.top,
    height - margin.bottom,
  );
  lines.forEach((l, i) => {
    l.labelY = spread[i];
  });
  return { x, y, lines };
}

/**
 * Vertical room one line label needs (px): an 11 px bold label's box is ~13 px tall, so 12 let
 * neighbours touch at phone width with five runs (screens.spec found it).
 */
export const LABEL_GAP = 14;

/**
 * Label positions near `ys` with at least `gap` between neighbours, inside [lo, hi] where they
 * fit: sorted, pushed down where they collide, then shifted up as a block if they ran past `hi`.
 */
export function spreadLabels(ys: number[], gap: number, lo: number, hi: number): number[] {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y || a.i - b.i);
  const placed = order.map((o) => Math.min(hi, Math.max(lo, o.y)));
  for (let k = 1; k < placed.length; k++) placed[k] = Math.max(placed[k], placed[k - 1] + gap);
  const last = placed.length - 1;
  if (last >= 0 && placed[last] > hi) {
    placed[last] = hi; // pushed past the bottom: close up from there (too many to fit go above `lo`, still apart)
    for (let k = last - 1; k >= 0; k--) placed[k] = Math.min(placed[k], placed[k + 1] - gap);
  }
  const out = new Array<number>(ys.length);
  order.forEach((o, k) => {
    out[o.i] = placed[k];
  });
  return out;
}

export const PHASES = ['vision', 'embed', 'layers', 'method', 'head', 'decode'] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_COLORS: Record<Phase, string> = {
  vision: '#4e79a7',
  embed: '#a0cbe8',
  layers: '#f28e2b',
  method: '#e15759',
  head: '#76b7b2',
  decode: '#bab0ac',
};

/** ms per phase of one request. layers = prefill layer time; method = pruning kernels. */
export function phaseTimes(trace: RequestTrace): Record<Phase, number> {
  const t = trace.timings;
  return {
    vision: t.visionMs,
    embed: t.embedMs,
    layers: t.layerMs.reduce((a, b) => a + b, 0),
    method: t.methodMs,
    head: t.headMs,
    decode: t.decodeStepMs.reduce((a, b) => a + b, 0),
  };
}

export interface PhaseBar {
  label: string;
  y: number;
  height: number;
  total: number;
  segments: { phase: Phase; x: number; width: number; ms: number; color: string }[];
}

export interface PhaseBarsLayout {
  x: ScaleLinear<number, number>;
  y: ScaleBand<string>;
  bars: PhaseBar[];
}

export function layoutPhaseBars(rows: { label: string; phases: Record<Phase, number> }[], size: Size): PhaseBarsLayout {
  const { width, height, margin } = size;
  const totals = rows.map((r) => PHASES.reduce((a, p) => a + r.phases[p], 0));
  const x = scaleLinear([0, max(totals) || 1], [margin.left, width - margin.right]).nice();
  const y = scaleBand(
    rows.map((r) => r.label),
    [margin.top, height - margin.bottom],
  ).padding(0.3);
  const bars = rows.map((r, i) => {
    let at = 0;
    const segments = PHASES.map((phase) => {
      const ms = r.phases[phase];
      const seg = { phase, x: x(at), width: x(at + ms) - x(at), ms, color: PHASE_COLORS[phase] };
      at += ms;
      return seg;
    });
    return { label: r.label, y: y(r.label) ?? 0, height: y.bandwidth(), total: totals[i], segments };
  });
  return { x, y, bars };
}

/** FLOPs and KV bytes of a run against its unpruned figures (ratios < 1 mean savings). */
export function costSummary(trace: RequestTrace) {
  const kv = trace.cost.kvBytesPerLayer.reduce((a, b) => a + b, 0);
  return {
    flops: trace.cost.flops,
    flopsUnpruned: trace.cost.flopsUnpruned,
    flopsRatio: trace.cost.flops / trace.cost.flopsUnpruned,
    kvBytes: kv,
    kvBytesUnpruned: trace.cost.kvBytesUnpruned,
    kvRatio: kv / trace.cost.kvBytesUnpruned,
  };
}
