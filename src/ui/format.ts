/** Number formatting shared by the panels. */
import type { Run } from '../store/types';

export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return '—';
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, unit] of units)
    if (Math.abs(count) >= scale) return `${(count / scale).toFixed(count / scale < 10 ? 2 : 1)} ${unit}`;
  return String(Math.round(count));
}

/** Decode speed: tokens after the first over the time after the first. */
export function tokensPerSecond(run: Run): number | null {
  if (
    run.tokenCount < 2 ||
    run.firstTokenMs === null ||
    run.lastTokenMs === null ||
    run.lastTokenMs <= run.firstTokenMs
  )
    return null;
  return ((run.tokenCount - 1) * 1000) / (run.lastTokenMs - run.firstTokenMs);
}

/** At most `max` characters, cut at a word where one is near, with an ellipsis and the length. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.7 ? cut.slice(0, space) : cut).trimEnd()}… (${text.length.toLocaleString('en-US')} characters)`;
}

/**
 * A model source in a few words: a package URL by its last folder (`https://host/a/llava-q4/` →
 * `llava-q4`), any other label (the bundled model, a local folder, a hub id) as it is.
 */
export function shortSource(label: string): string {
  if (!isLocation(label)) return label;
  const path = label.replace(/^https?:\/\/[^/]*/, '').split(/[?#]/)[0]!;
  const last = path.split('/').filter(Boolean).pop();
  if (!last) return label;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Whether a source label is a URL or a path (then the model's own name reads better). */
export const isLocation = (label: string): boolean => /^(https?:\/\/|\/)/.test(label);
