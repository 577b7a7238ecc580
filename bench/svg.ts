/**
 * The bench chart as one SVG string, no DOM: left, time per phase per method (stacked
 * horizontal bars, medians); right, visual tokens entering each layer per method (lines).
 * `chartLayout` is the pure geometry (tested); `renderSvg` only prints it.
 */
import type { MethodResult } from './measure';

export const PHASES = ['vision', 'LLM prefill (layers, embed, head)', 'sparsification kernels', 'decode'] as const;
const PHASE_COLOURS = ['#8da0cb', '#fc8d62', '#e41a1c', '#66c2a5'];
const LINE_COLOURS = ['#333333', '#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
  title: string;
}
export interface Polyline {
  points: [number, number][];
  stroke: string;
  label: string;
}
export interface Text {
  x: number;
  y: number;
  text: string;
  anchor: 'start' | 'middle' | 'end';
  size: number;
}
export interface ChartLayout {
  width: number;
  height: number;
  rects: Rect[];
  lines: Polyline[];
  texts: Text[];
  axes: [number, number, number, number][];
}

/** Median ms per phase for one method; decode = forced steps at the median rate. */
export function phaseMs(m: MethodResult): number[] {
  const f = m.figures;
  const method = f.methodMs?.median ?? 0;
  const llm = (f.llmPrefillMs?.median ?? 0) - method;
  const steps = m.decodeSteps.length ? m.decodeSteps[Math.floor(m.decodeSteps.length / 2)] : 0;
  const decode = f.decodeTokPerS ? (steps / f.decodeTokPerS.median) * 1000 : 0;
  return [f.visionMs?.median ?? 0, Math.max(0, llm), method, decode];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((k) => k * p).find((x) => x >= v)!;
}

export function chartLayout(methods: MethodResult[], title: string): ChartLayout {
  const rowH = 22;
  const top = 48;
  const labelW = 110;
  const barW = 380;
  const gap = 90;
  const lineX = labelW + barW + gap;
  const lineW = 320;
  const plotH = Math.max(methods.length * rowH, 200);
  const height = top + plotH + 90;
  const width = lineX + lineW + 30;
  const rects: Rect[] = [];
  const texts: Text[] = [{ x: 10, y: 20, text: title, anchor: 'start', size: 14 }];
  const lines: Polyline[] = [];
  const axes: [number, number, number, number][] = [];

  const totals = methods.map((m) => phaseMs(m).reduce((s, v) => s + v, 0));
  const tMax = niceMax(Math.max(...totals, 0));
  const sx = (ms: number) => (ms / tMax) * barW;
  methods.forEach((m, i) => {
    const y = top + i * rowH;
    texts.push({ x: labelW - 6, y: y + rowH * 0.65, text: m.spec, anchor: 'end', size: 11 });
    let x = labelW;
    phaseMs(m).forEach((ms, p) => {
      const w = sx(ms);
      if (w > 0)
        rects.push({
          x,
          y: y + 3,
          width: w,
          height: rowH - 6,
          fill: PHASE_COLOURS[p],
          title: `${m.spec} ${PHASES[p]}: ${ms.toFixed(1)} ms`,
        });
      x += w;
    });
  });
  const axisY = top + methods.length * rowH + 4;
  axes.push([labelW, axisY, labelW + barW, axisY]);
  for (let k = 0; k <= 4; k++) {
    texts.push({
      x: labelW + (barW * k) / 4,
      y: axisY + 14,
      text: `${((tMax * k) / 4).toPrecision(3).replace(/\.?0+$/, '')}`,
      anchor: 'middle',
      size: 10,
    });
  }
  texts.push({
    x: labelW + barW / 2,
    y: axisY + 30,
    text: 'ms per request (median): stacked by phase',
    anchor: 'middle',
    size: 11,
  });
  PHASES.forEach((p, k) => {
    const lx = labelW + k * 100;
    rects.push({ x: lx - 60, y: axisY + 42, width: 10, height: 10, fill: PHASE_COLOURS[k], title: p });
    texts.push({ x: lx - 46, y: axisY + 51, text: p.replace(/ \(.*\)/, ''), anchor: 'start', size: 10 });
  });

  const layers = Math.max(...methods.map((m) => m.visualPerLayer.length), 1);
  const vMax = niceMax(Math.max(...methods.flatMap((m) => m.visualPerLayer), 1));
  const px = (l: number) => lineX + (layers > 1 ? (l / (layers - 1)) * lineW : 0);
  const py = (v: number) => top + plotH - (v / vMax) * plotH;
  axes.push([lineX, top + plotH, lineX + lineW, top + plotH], [lineX, top, lineX, top + plotH]);
  texts.push({ x: lineX + lineW / 2, y: top + plotH + 30, text: 'decoder layer', anchor: 'middle', size: 11 });
  texts.push({ x: lineX, y: top - 8, text: 'visual tokens entering each layer', anchor: 'start', size: 11 });
  for (let k = 0; k <= 4; k++)
    texts.push({
      x: lineX - 4,
      y: py((vMax * k) / 4) + 3,
      text: `${Math.round((vMax * k) / 4)}`,
      anchor: 'end',
      size: 10,
    });
  for (const l of [0, layers - 1])
    texts.push({ x: px(l), y: top + plotH + 14, text: `${l}`, anchor: 'middle', size: 10 });
  methods.forEach((m, i) => {
    const stroke = LINE_COLOURS[i % LINE_COLOURS.length];
    // Steps, not slopes: a layer sees one count throughout.
    const pts: [number, number][] = [];
    m.visualPerLayer.forEach((v, l) => {
      if (l > 0 && v !== m.visualPerLayer[l - 1]) pts.push([px(l), py(m.visualPerLayer[l - 1])]);
      pts.push([px(l), py(v)]);
    });
    lines.push({ points: pts, stroke, label: m.spec });
    texts.push({ x: lineX + lineW - 4, y: top + 12 + i * 13, text: m.spec, anchor: 'end', size: 10 });
    rects.push({ x: lineX + lineW, y: top + 4 + i * 13, width: 10, height: 3, fill: stroke, title: m.spec });
  });
  return { width, height, rects, lines, texts, axes };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n = (v: number) => Number(v.toFixed(1));

export function renderSvg(c: ChartLayout): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${c.width}" height="${c.height}" viewBox="0 0 ${c.width} ${c.height}" font-family="sans-serif">`,
    `<rect width="${c.width}" height="${c.height}" fill="#ffffff"/>`,
    ...c.axes.map(
      ([x1, y1, x2, y2]) => `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="#666"/>`,
    ),
    ...c.rects.map(
      (r) =>
        `<rect x="${n(r.x)}" y="${n(r.y)}" width="${n(r.width)}" height="${n(r.height)}" fill="${r.fill}"><title>${esc(r.title)}</title></rect>`,
    ),
    ...c.lines.map(
      (l) =>
        `<polyline fill="none" stroke="${l.stroke}" stroke-width="1.5" points="${l.points.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}"><title>${esc(l.label)}</title></polyline>`,
    ),
    ...c.texts.map(
      (t) => `<text x="${n(t.x)}" y="${n(t.y)}" font-size="${t.size}" text-anchor="${t.anchor}">${esc(t.text)}</text>`,
    ),
    '</svg>',
  ];
  return out.join('\n') + '\n';
}
