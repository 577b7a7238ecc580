/**
 * Accuracy against cost, one point per method: the pure layout (d3 scales and ticks, no DOM),
 * printed as an SVG string by `chartSvg` for the CLI and drawn with d3 by the app's
 * EvalChart. Two panels: the benchmark's headline score against median LLM prefill time, and
 * against prefill FLOPs; a method without a figure on an axis is left out of that panel.
 */
import { scaleLinear } from 'd3';
import type { EvalResults } from './summary';
import type { EvalSpeed } from './summary';

export interface ChartPoint {
  method: string;
  x: number;
  y: number;
}
export interface PanelLayout {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Plot area inside the panel. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** The scales' domains (the app's d3 axes are built from them). */
  xDomain: [number, number];
  yDomain: [number, number];
  xTicks: { value: number; pos: number; label: string }[];
  yTicks: { value: number; pos: number; label: string }[];
  points: (ChartPoint & { px: number; py: number; colour: string })[];
}

export const METHOD_COLOURS = ['#333333', '#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];

export function chartPoints(
  results: EvalResults,
  speed: EvalSpeed | null,
): { prefill: ChartPoint[]; flops: ChartPoint[] } {
  const prefill: ChartPoint[] = [];
  const flops: ChartPoint[] = [];
  for (const m of results.methods) {
    if (m.scores.scored === 0) continue;
    const ms = speed?.methods.find((s) => s.method === m.method)?.prefillMs ?? null;
    if (ms !== null) prefill.push({ method: m.method, x: ms, y: m.scores.headline });
    if (m.cost.flops !== null) flops.push({ method: m.method, x: m.cost.flops / 1e9, y: m.scores.headline });
  }
  return { prefill, flops };
}

const fmt = (value: number) =>
  value === 0
    ? '0'
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 10
        ? value.toFixed(1)
        : value.toPrecision(2);

export function panelLayout(
  points: ChartPoint[],
  options: {
    title: string;
    xLabel: string;
    yLabel: string;
    width: number;
    height: number;
    colourOf: (method: string) => string;
  },
): PanelLayout {
  const margin = { left: 56, right: 16, top: 28, bottom: 44 };
  const width = options.width - margin.left - margin.right;
  const height = options.height - margin.top - margin.bottom;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  // x from 0: the cost axis reads as a fraction of the unpruned cost. y padded around the scores.
  const x = scaleLinear()
    .domain([0, Math.max(...xs, 1e-9) * 1.1])
    .nice()
    .range([0, width]);
  const yLo = Math.min(...ys, 0);
  const yHi = Math.max(...ys, 1);
  const y = scaleLinear()
    .domain([yLo, yHi + (yHi - yLo) * 0.08])
    .nice()
    .range([height, 0]);
  return {
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    left: margin.left,
    top: margin.top,
    width,
    height,
    xDomain: x.domain() as [number, number],
    yDomain: y.domain() as [number, number],
    xTicks: x.ticks(5).map((v) => ({ value: v, pos: x(v), label: fmt(v) })),
    yTicks: y.ticks(5).map((v) => ({ value: v, pos: y(v), label: fmt(v) })),
    points: points.map((p) => ({ ...p, px: x(p.x), py: y(p.y), colour: options.colourOf(p.method) })),
  };
}

export function colourFor(methods: string[]): (method: string) => string {
  return (m) => METHOD_COLOURS[Math.max(0, methods.indexOf(m)) % METHOD_COLOURS.length];
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panelSvg(panel: PanelLayout, dx: number): string {
  const out: string[] = [`<g transform="translate(${dx + panel.left},${panel.top})">`];
  out.push(`<text x="${panel.width / 2}" y="-10" text-anchor="middle" font-size="13">${esc(panel.title)}</text>`);
  out.push(
    `<line x1="0" y1="${panel.height}" x2="${panel.width}" y2="${panel.height}" stroke="#444"/><line x1="0" y1="0" x2="0" y2="${panel.height}" stroke="#444"/>`,
  );
  for (const t of panel.xTicks)
    out.push(
      `<line x1="${t.pos}" y1="${panel.height}" x2="${t.pos}" y2="${panel.height + 4}" stroke="#444"/><text x="${t.pos}" y="${panel.height + 16}" text-anchor="middle" font-size="10">${t.label}</text>`,
    );
  for (const t of panel.yTicks)
    out.push(
      `<line x1="-4" y1="${t.pos}" x2="0" y2="${t.pos}" stroke="#444"/><line x1="0" y1="${t.pos}" x2="${panel.width}" y2="${t.pos}" stroke="#ddd"/><text x="-7" y="${t.pos + 3}" text-anchor="end" font-size="10">${t.label}</text>`,
    );
  out.push(
    `<text x="${panel.width / 2}" y="${panel.height + 34}" text-anchor="middle" font-size="11">${esc(panel.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(-42,${panel.height / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(panel.yLabel)}</text>`,
  );
  for (const pt of panel.points) {
    out.push(
      `<circle cx="${pt.px}" cy="${pt.py}" r="5" fill="${pt.colour}"><title>${esc(`${pt.method}: ${fmt(pt.y)} at ${fmt(pt.x)}`)}</title></circle>`,
    );
    out.push(`<text x="${pt.px + 7}" y="${pt.py - 6}" font-size="10" fill="${pt.colour}">${esc(pt.method)}</text>`);
  }
  out.push('</g>');
  return out.join('\n');
}

/** The two panels side by side as one SVG document. */
export function chartSvg(results: EvalResults, speed: EvalSpeed | null, title: string): string {
  const { prefill, flops } = chartPoints(results, speed);
  const colourOf = colourFor(results.methods.map((m) => m.method));
  const yLabel = results.methods[0]?.scores.headlineName ?? 'score';
  const w = 420,
    h = 300;
  const panels = [
    panelLayout(prefill, {
      title: 'score against LLM prefill',
      xLabel: 'median prefill (ms)',
      yLabel,
      width: w,
      height: h,
      colourOf,
    }),
    panelLayout(flops, {
      title: 'score against prefill FLOPs',
      xLabel: 'prefill FLOPs (G, reference formula)',
      yLabel,
      width: w,
      height: h,
      colourOf,
    }),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${h + 30}" viewBox="0 0 ${2 * w} ${h + 30}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="18" font-size="14">${esc(title)}</text>`,
    `<g transform="translate(0,24)">`,
    panelSvg(panels[0], 0),
    panelSvg(panels[1], w),
    '</g></svg>',
    '',
  ].join('\n');
}
