/** Downloads: a run's trace and metrics as JSON, the layer explorer as SVG or PNG. */
import type { Run } from '../store/types';
import { tokensPerSecond } from './format';

export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** What the JSON holds: the run's settings, answer, metrics and full trace. */
export function runExport(run: Run) {
  return {
    format: 'sparsevlm-run',
    version: 1,
    settings: run.settings,
    image: run.imageName,
    question: run.question,
    answer: run.text,
    metrics: {
      firstTokenMs: run.firstTokenMs,
      tokensPerSecond: tokensPerSecond(run),
      totalMs: run.totalMs,
      tokens: run.tokenCount,
    },
    trace: run.trace,
  };
}

export function exportRunJson(run: Run): void {
  download(
    new Blob([JSON.stringify(runExport(run), null, 2)], { type: 'application/json' }),
    `run-${run.id}-${run.settings.method}.json`,
  );
}

async function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** Height of the caption band added under an exported explorer picture. */
const CAPTION_H = 44;
const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * A caption band under the picture: what it shows (run, layer, tokens) and the legend, so an
 * exported file explains itself.
 */
function addCaption(clone: SVGSVGElement, caption: string): void {
  const width = Number(clone.getAttribute('width')),
    height = Number(clone.getAttribute('height'));
  clone.setAttribute('height', String(height + CAPTION_H));
  clone.setAttribute('viewBox', `0 0 ${width} ${height + CAPTION_H}`);
  const el = (name: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    clone.appendChild(e);
    return e;
  };
  el('rect', { x: 0, y: height, width, height: CAPTION_H, fill: '#ffffff' });
  const font = { 'font-family': 'system-ui, sans-serif', 'font-size': 11, fill: '#1b1f27' };
  el('text', { x: 6, y: height + 15, ...font, 'font-weight': 600 }, caption);
  const y = height + 26;
  const grad = el('linearGradient', { id: 'legend-heat' });
  for (const [o, c] of [
    [0, '#440154'],
    [0.5, '#21918c'],
    [1, '#fde725'],
  ] as const) {
    const stop = document.createElementNS(SVG_NS, 'stop');
    stop.setAttribute('offset', String(o));
    stop.setAttribute('stop-color', c);
    grad.appendChild(stop);
  }
  el('rect', { x: 6, y, width: 24, height: 10, fill: 'url(#legend-heat)' });
  el('text', { x: 34, y: y + 9, ...font }, 'score (low → high)');
  el('rect', { x: 140, y, width: 10, height: 10, fill: '#0b0d12', 'fill-opacity': 0.72 });
  el('text', { x: 154, y: y + 9, ...font }, 'dropped');
  el('rect', { x: 208, y: y + 1, width: 8, height: 8, fill: 'none', stroke: '#e15759', 'stroke-width': 2 });
  el('text', { x: 220, y: y + 9, ...font }, 'merged group');
}

/** The explorer SVG as a standalone document: the image inlined as a data URL, no hover mark, a caption and legend under it. */
export async function standaloneSvg(
  svg: SVGSVGElement,
  image: { bytes: ArrayBuffer; mime: string },
  caption?: string,
): Promise<string> {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.querySelectorAll('.hover-mark').forEach((el) => el.remove());
  if (caption) addCaption(clone, caption);
  const dataUrl = await blobToDataUrl(new Blob([image.bytes], { type: image.mime }));
  clone.querySelectorAll('image').forEach((el) => el.setAttribute('href', dataUrl));
  clone.querySelectorAll('[data-testid],[data-patch],[data-state]').forEach((el) => {
    el.removeAttribute('data-testid');
    el.removeAttribute('data-patch');
    el.removeAttribute('data-state');
  });
  return new XMLSerializer().serializeToString(clone);
}

export async function exportSvg(
  svg: SVGSVGElement,
  image: { bytes: ArrayBuffer; mime: string },
  name: string,
  caption?: string,
): Promise<void> {
  download(new Blob([await standaloneSvg(svg, image, caption)], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Rasterise at 2× for a crisp PNG. */
export async function exportPng(
  svg: SVGSVGElement,
  image: { bytes: ArrayBuffer; mime: string },
  name: string,
  caption?: string,
): Promise<void> {
  const text = await standaloneSvg(svg, image, caption);
  const width = svg.width.baseVal.value,
    height = svg.height.baseVal.value + (caption ? CAPTION_H : 0);
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width * 2;
  canvas.height = height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  URL.revokeObjectURL(img.src);
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'),
  );
  download(blob, `${name}.png`);
}
