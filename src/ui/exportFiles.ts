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
    format: 'sparsevlm-run', version: 1,
    settings: run.settings, image: run.imageName, question: run.question, answer: run.text,
    metrics: { firstTokenMs: run.firstTokenMs, tokensPerSecond: tokensPerSecond(run), totalMs: run.totalMs, tokens: run.tokenCount },
    trace: run.trace,
  };
}

export function exportRunJson(run: Run): void {
  download(new Blob([JSON.stringify(runExport(run), null, 2)], { type: 'application/json' }), `run-${run.id}-${run.settings.method}.json`);
}

async function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** The explorer SVG as a standalone document: the image inlined as a data URL. */
export async function standaloneSvg(svg: SVGSVGElement, image: { bytes: ArrayBuffer; mime: string }): Promise<string> {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const dataUrl = await blobToDataUrl(new Blob([image.bytes], { type: image.mime }));
  clone.querySelectorAll('image').forEach((el) => el.setAttribute('href', dataUrl));
  clone.querySelectorAll('[data-testid],[data-patch],[data-state]').forEach((el) => {
    el.removeAttribute('data-testid'); el.removeAttribute('data-patch'); el.removeAttribute('data-state');
  });
  return new XMLSerializer().serializeToString(clone);
}

export async function exportSvg(svg: SVGSVGElement, image: { bytes: ArrayBuffer; mime: string }, name: string): Promise<void> {
  download(new Blob([await standaloneSvg(svg, image)], { type: 'image/svg+xml' }), `${name}.svg`);
}

/** Rasterise at 2× for a crisp PNG. */
export async function exportPng(svg: SVGSVGElement, image: { bytes: ArrayBuffer; mime: string }, name: string): Promise<void> {
  const text = await standaloneSvg(svg, image);
  const width = svg.width.baseVal.value, height = svg.height.baseVal.value;
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width * 2; canvas.height = height * 2;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  URL.revokeObjectURL(img.src);
  const blob = await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
  download(blob, `${name}.png`);
}
