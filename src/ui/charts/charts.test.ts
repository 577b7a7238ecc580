import { describe, expect, it } from 'vitest';
import type { ImageFit } from '../../engine/protocol';
import { costSummary, layoutPhaseBars, layoutTokenLines, phaseTimes, spreadLabels } from './cost';
import { describeWindow, gridFor, groupOutlines, layoutPatches, modelWindow, movePatch, stageLayers } from './explorer';
import { patchFates } from './fates';
import { smallTrace } from './fixtures/traces';
import { raterTokens } from './raters';

const size = { width: 400, height: 200, margin: { top: 10, right: 10, bottom: 20, left: 40 } };

describe('explorer layout', () => {
  it('places patches row-major and colours only live scored ones', () => {
    const cells = layoutPatches(patchFates(smallTrace(), 2), [4, 4], 336);
    expect(cells[5]).toMatchObject({ row: 1, col: 1, x: 84, y: 84, size: 84 });
    expect(cells[8].fill).toBeNull(); // dropped at layer 1
    expect(cells[0].fill).toMatch(/^#|^rgb/);
  });
  it('outlines a merged group along its outer boundary only', () => {
    const cells = layoutPatches(patchFates(smallTrace(), 2), [4, 4], 4);
    const outlines = groupOutlines(cells, 4);
    const g = outlines.find((o) => o.id === -1)!; // patches 3, 4, 7: 3 and 7 are vertical neighbours
    expect(g.patches.sort((a, b) => a - b)).toEqual([3, 4, 7]);
    // 3 cells have 12 edges; 3–7 share one edge (drawn by neither) → 10 edges
    expect(g.d.match(/M/g)).toHaveLength(10);
    expect(new Set(outlines.map((o) => o.color)).size).toBe(outlines.length);
  });
  it('picks the model grid, moves the cursor, lists stage layers', () => {
    expect(gridFor(576, [24, 24])).toEqual([24, 24]);
    expect(gridFor(729, [24, 24])).toEqual([27, 27]);
    expect(movePatch(0, 'ArrowLeft', [4, 4])).toBe(0);
    expect(movePatch(5, 'ArrowDown', [4, 4])).toBe(9);
    expect(movePatch(15, 'ArrowRight', [4, 4])).toBe(15);
    expect(stageLayers([2, 6, 15], 32)).toEqual([0, 3, 7, 16]);
  });
  it('finds the part of a picture the processor keeps (CLIP: short side to 336, centre crop; SigLIP: stretched)', () => {
    const clip: ImageFit = { kind: 'resize-crop', shortestEdge: 336, longestEdge: null, crop: [336, 336] };
    const near = (got: { x: number; y: number; w: number; h: number }, want: typeof got) => {
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(got[k], k).toBeCloseTo(want[k], 6);
    };
    near(modelWindow(1600, 800, clip), { x: 400, y: 0, w: 800, h: 800 }); // wide: the centre square
    near(modelWindow(600, 1200, clip), { x: 0, y: 300, w: 600, h: 600 }); // tall
    near(modelWindow(336, 336, clip), { x: 0, y: 0, w: 336, h: 336 });
    expect(modelWindow(1600, 800, { kind: 'stretch' })).toEqual({ x: 0, y: 0, w: 1600, h: 800 });
    // A crop larger than the resized picture pads: the window reaches past the edges.
    const pad = modelWindow(400, 200, { kind: 'resize-crop', shortestEdge: 224, longestEdge: null, crop: [336, 336] });
    expect(pad.x).toBeGreaterThan(0); // 448 px wide after resizing: cropped sideways
    expect(pad.y).toBeLessThan(0); // 224 px tall: padded above and below
    expect(describeWindow(1600, 800, modelWindow(1600, 800, clip))).toBe(
      'the model sees the centre 800×800 px (the rest is cropped away)',
    );
    expect(describeWindow(336, 336, modelWindow(336, 336, clip))).toBe('');
    expect(describeWindow(400, 200, pad)).toMatch(/padded/);
  });
});

describe('cost layout', () => {
  it('spreads line-end labels that would pile up (five runs ending at about the same count)', () => {
    const ys = [100, 101, 99, 100.5, 180];
    const out = spreadLabels(ys, 12, 10, 170);
    const sorted = out.slice().sort((a, b) => a - b);
    for (let k = 1; k < sorted.length; k++) expect(sorted[k] - sorted[k - 1]).toBeGreaterThanOrEqual(12 - 1e-9);
    expect(Math.max(...out)).toBeLessThanOrEqual(170);
    expect(out[4]).toBe(170); // past the bottom: clamped
    expect(spreadLabels([50, 120], 12, 10, 170)).toEqual([50, 120]); // apart already: unchanged
  });
  it('one step line per run, y from 0 to the largest count', () => {
    const l = layoutTokenLines(
      [
        { label: 'none', values: [16, 16, 16] },
        { label: 'sparse', values: [16, 8, 4] },
      ],
      size,
    );
    expect(l.y.domain()[0]).toBe(0);
    expect(l.y(16)).toBeLessThan(l.y(4));
    expect(l.lines[1].last).toMatchObject({ value: 4, x: 390 });
    expect(l.lines[0].d.startsWith('M40,')).toBe(true);
    // Each layer a step of the same width, the last one too (it was a point at the chart's end).
    expect(l.x.domain()).toEqual([0, 3]);
    const points = [...l.lines[1].d.matchAll(/[ML]([\d.]+),([\d.]+)/g)]
      .map((m) => [Number(m[1]), Number(m[2])])
      .filter((p, k, all) => k === 0 || p[0] !== all[k - 1][0] || p[1] !== all[k - 1][1]);
    const [from, to] = points.slice(-2); // the last layer's step: from layer 2's start to the chart's end, at its count
    expect(from[0]).toBeCloseTo(l.x(2), 2);
    expect(to[0]).toBe(390);
    expect(from[1]).toBeCloseTo(l.y(4), 2);
    expect(to[1]).toBeCloseTo(l.y(4), 2);
  });
  it('stacks phases left to right, widths proportional to ms', () => {
    const t = smallTrace();
    const phases = phaseTimes(t);
    expect(phases.layers).toBe(18); // 6 layers × 3 ms
    expect(phases.decode).toBe(15);
    const bars = layoutPhaseBars(
      [
        { label: 'a', phases },
        { label: 'b', phases: { ...phases, vision: 0 } },
      ],
      size,
    );
    const seg = bars.bars[0].segments;
    for (let i = 1; i < seg.length; i++) expect(seg[i].x).toBeCloseTo(seg[i - 1].x + seg[i - 1].width);
    expect(bars.bars[1].total).toBe(bars.bars[0].total - 40);
  });
  it('summarises FLOPs and KV against the unpruned run', () => {
    const c = costSummary(smallTrace());
    expect(c.flopsRatio).toBe(0.25);
    expect(c.kvBytes).toBe((16 + 16 + 8 + 8 + 4 + 2) * 64);
    expect(c.kvRatio).toBeCloseTo(54 / 96);
  });
});

describe('raters', () => {
  it('shades by relevance and marks the raters; ids stand in for missing texts', () => {
    const tokens = raterTokens(smallTrace().raters!);
    expect(tokens.map((t) => t.isRater)).toEqual([false, true, true, false]);
    expect(tokens[1].shade).toBe(1);
    expect(tokens[0].text).toBe('#10');
  });
});
