/**
 * Geometry of the layer explorer: one cell per patch over the image, coloured by score,
 * dimmed when dropped, with merged groups outlined. Pure: tested in Node, rendered by
 * LayerExplorer.tsx.
 */
import { interpolateViridis, scaleLinear, schemeTableau10 } from 'd3';
import type { ImageFit } from '../../engine/protocol';
import type { PatchFate } from './fates';

export interface PatchCell {
  patch: number;
  row: number;
  col: number;
  x: number;
  y: number;
  size: number;
  fate: PatchFate;
  /** Heatmap fill for scored live patches, null otherwise. */
  fill: string | null;
}

export interface GroupOutline {
  id: number;
  color: string;
  d: string;
  patches: number[];
}

/** rows × cols for `count` patches: the model's grid when it fits, else the nearest square. */
export function gridFor(count: number, grid?: [number, number] | null): [number, number] {
  if (grid && grid[0] * grid[1] === count) return grid;
  const side = Math.ceil(Math.sqrt(count));
  return [Math.ceil(count / side), side];
}

/** Cells in row-major patch order over a `size`×`size` square (the image is resized to it). */
/** `scoredFrom`: the fates whose live scores set the colour scale (all images of the span, so frames compare); default `fates`. */
export function layoutPatches(
  fates: PatchFate[],
  grid: [number, number],
  size: number,
  scoredFrom: PatchFate[] = fates,
): PatchCell[] {
  const [rows, cols] = grid;
  const cell = size / Math.max(rows, cols);
  const heat = heatFill(scoredFrom);
  return fates.map((fate) => {
    const row = Math.floor(fate.patch / cols),
      col = fate.patch % cols;
    return { patch: fate.patch, row, col, x: col * cell, y: row * cell, size: cell, fate, fill: heat(fate) };
  });
}

/**
 * The heatmap's colour for a token: viridis over the live scores of `scoredFrom`; null for a
 * dropped or unscored one. Shared by the grid and a frame's CLS mark, so both read on one scale.
 */
export function heatFill(scoredFrom: PatchFate[]): (fate: PatchFate) => string | null {
  const live = scoredFrom.filter((f) => f.state !== 'dropped' && f.score !== null).map((f) => f.score!);
  const lo = Math.min(...live),
    hi = Math.max(...live);
  const norm = live.length && hi > lo ? scaleLinear([lo, hi], [0.15, 1]).clamp(true) : () => 0.7;
  return (fate) => (fate.state !== 'dropped' && fate.score !== null ? interpolateViridis(norm(fate.score)) : null);
}

/**
 * One outline per merged group alive at the layer: the boundary of the union of its cells,
 * as a path of unit edges (an edge is drawn where a member touches a non-member).
 */
export function groupOutlines(cells: PatchCell[], cols: number): GroupOutline[] {
  const byToken = new Map<number, PatchCell[]>();
  for (const c of cells) {
    if (c.fate.state !== 'merged' || c.fate.token === null) continue;
    const list = byToken.get(c.fate.token) ?? [];
    list.push(c);
    byToken.set(c.fate.token, list);
  }
  let index = 0;
  return [...byToken]
    .sort(([a], [b]) => b - a)
    .map(([id, members]) => {
      const inGroup = new Set(members.map((c) => c.patch));
      const has = (row: number, col: number) => col >= 0 && col < cols && row >= 0 && inGroup.has(row * cols + col);
      const parts: string[] = [];
      for (const c of members) {
        const { x, y, size: s, row, col } = c;
        if (!has(row - 1, col)) parts.push(`M${x},${y}h${s}`);
        if (!has(row + 1, col)) parts.push(`M${x},${y + s}h${s}`);
        if (!has(row, col - 1)) parts.push(`M${x},${y}v${s}`);
        if (!has(row, col + 1)) parts.push(`M${x + s},${y}v${s}`);
      }
      return { id, color: schemeTableau10[index++ % schemeTableau10.length], d: parts.join(''), patches: [...inGroup] };
    });
}

/** Arrow-key movement of the keyboard cursor over the grid. */
export function movePatch(patch: number, key: string, grid: [number, number]): number {
  const [rows, cols] = grid;
  const row = Math.floor(patch / cols),
    col = patch % cols;
  switch (key) {
    case 'ArrowLeft':
      return row * cols + Math.max(0, col - 1);
    case 'ArrowRight':
      return row * cols + Math.min(cols - 1, col + 1);
    case 'ArrowUp':
      return Math.max(0, row - 1) * cols + col;
    case 'ArrowDown':
      return Math.min(rows - 1, row + 1) * cols + col;
    case 'Home':
      return row * cols;
    case 'End':
      return row * cols + cols - 1;
    default:
      return patch;
  }
}

/** Layers worth a small multiple: layer 0 and the first layer after each stage. */
export function stageLayers(stageAt: number[], numLayers: number): number[] {
  const layers = [0, ...stageAt.map((l) => l + 1)].filter((l) => l >= 0 && l < numLayers);
  return [...new Set(layers)].sort((a, b) => a - b);
}

/** A rectangle in the picture's own pixels. */
export interface PictureWindow {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The part of a `width`×`height` picture that becomes the model's input square, in the
 * picture's pixels, following the processor's geometry (transformers.js
 * get_resize_output_image_size, then center_crop): for 'resize-crop' the centred crop of the
 * resized picture mapped back (it reaches past the edges where the processor pads); for
 * 'stretch' (or unknown) the whole picture.
 */
export function modelWindow(width: number, height: number, fit: ImageFit | null | undefined): PictureWindow {
  const whole = { x: 0, y: 0, w: width, h: height };
  if (!fit || fit.kind !== 'resize-crop' || !fit.crop || width <= 0 || height <= 0) return whole;
  const short = fit.shortestEdge === null ? 1 : Math.max(fit.shortestEdge / width, fit.shortestEdge / height);
  const nw = width * short,
    nh = height * short;
  const long = fit.longestEdge === null ? 1 : Math.min(fit.longestEdge / nw, fit.longestEdge / nh);
  const rw = Math.floor(Number((nw * long).toFixed(2))),
    rh = Math.floor(Number((nh * long).toFixed(2)));
  const sx = rw / width,
    sy = rh / height;
  const [ch, cw] = fit.crop;
  return { x: (rw - cw) / 2 / sx, y: (rh - ch) / 2 / sy, w: cw / sx, h: ch / sy };
}

/** The window in words for captions: '' when the model sees the whole picture. */
export function describeWindow(width: number, height: number, win: PictureWindow): string {
  const r = (v: number) => Math.round(v);
  if (r(win.x) === 0 && r(win.y) === 0 && r(win.w) === width && r(win.h) === height) return '';
  if (win.x >= 0 && win.y >= 0 && win.x + win.w <= width + 0.5 && win.y + win.h <= height + 0.5) {
    return `the model sees the centre ${r(win.w)}×${r(win.h)} px (the rest is cropped away)`;
  }
  return `the model sees the picture padded to ${r(win.w)}×${r(win.h)} px`;
}
