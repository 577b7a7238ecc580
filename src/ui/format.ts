/** Number formatting shared by the panels. */
import type { ModelInfo } from '../engine/protocol';
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

/**
 * What `count` visual tokens on a `grid` are: "8×8 patches", with the tokens before the grid
 * named ("CLS + 8×8 patches": a Video-LLaVA frame keeps its class token; so does a CLIP image
 * under the 'full' strategy). More than one leading token is only counted (no tower has them).
 */
export function tokenBreakdown(count: number, grid: readonly [number, number]): string {
  const patches = `${grid[0]}×${grid[1]} patches`;
  const leading = count - grid[0] * grid[1];
  if (leading === 0) return patches;
  if (leading === 1) return `CLS + ${patches}`;
  if (leading > 1) return `${leading} leading tokens + ${patches}`;
  return `${count} tokens on ${patches}`;
}

/**
 * The model card's visual-token figures: an image's, and a video frame's when the package has a
 * video tower (Video-LLaVA: 65 a frame for 64 an image) — null when a frame is fed as an image.
 */
export function visualTokenFacts(info: Pick<ModelInfo, 'visualTokens' | 'gridSize' | 'imageSize' | 'video'>): {
  image: string;
  frame: string | null;
} {
  const image = `${info.visualTokens} (${tokenBreakdown(info.visualTokens, info.gridSize)} of a ${info.imageSize}px image)`;
  if (!info.video) return { image, frame: null };
  const perFrame = info.video.tokensPerFrame;
  return {
    image: `per image: ${image}`,
    frame: `per frame: ${perFrame} (${tokenBreakdown(perFrame, info.gridSize)} of a ${info.imageSize}px frame)`,
  };
}
