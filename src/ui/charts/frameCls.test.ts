/**
 * Video-LLaVA frames: each frame's tokens are its CLS, then its grid (TraceImage.leading 1). The
 * timeline's heatmap (ExplorerSvg with `part`, rendered here to markup as the app draws it) must
 * lay the grid from the frame's token 1 on the model's grid — before `leading`, a 65-token frame
 * on an 8×8 model fell back to an 8×9 grid and every patch sat one cell off — and the CLS token's
 * fate is read apart (leadingFates), for the mark beside the frame.
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { locateOrigin, type RequestTrace } from '../../common/trace';
import { ExplorerSvg } from './ExplorerSvg';
import { describeFate, groupSizes, imageTokenLayers, leadingFates, patchFates } from './fates';
import { videoLlavaTrace } from './fixtures/traces';

const SIZE = 100;

/** The heatmap's patch cells as drawn: patch index, state and position. */
function drawnCells(trace: RequestTrace, image: number, layer: number) {
  const svg = renderToStaticMarkup(
    createElement(ExplorerSvg, {
      trace,
      image: { url: 'data:,', width: 112, height: 112 },
      fit: null,
      modelGrid: [2, 2],
      layer,
      size: SIZE,
      part: trace.images![image],
      testid: `explorer.image.${image}`,
    }),
  );
  return [...svg.matchAll(/<rect ([^>]*data-testid="explorer\.patch"[^>]*)\/?>/g)].map(([, attrs]) => {
    const get = (name: string) => new RegExp(`(?:^| )${name}="([^"]*)"`).exec(attrs)?.[1];
    return { patch: Number(get('data-patch')), state: get('data-state'), x: Number(get('x')), y: Number(get('y')) };
  });
}

/** The grid patches of frame `image` a stage kept, by locateOrigin (the trace's own coordinates). */
function keptByTrace(trace: RequestTrace, stage: number, image: number): number[] {
  return trace.stages[stage].kept.flatMap((o) => {
    const at = locateOrigin(trace, o);
    return at.kind === 'patch' && at.image === image ? [at.patch] : [];
  });
}

describe('a frame with a leading CLS token (Video-LLaVA)', () => {
  const trace = videoLlavaTrace();

  it('draws each frame on the model grid from its token 1, kept patches = the trace kept set for that frame', () => {
    for (const image of [0, 1]) {
      const cells = drawnCells(trace, image, 1);
      // 2×2 cells of SIZE/2 in row-major order (not 5 cells on a 2×3 fallback grid).
      expect(cells.map((c) => [c.patch, c.x, c.y])).toEqual([
        [0, 0, 0],
        [1, 50, 0],
        [2, 0, 50],
        [3, 50, 50],
      ]);
      const kept = cells.filter((c) => c.state === 'kept').map((c) => c.patch);
      expect(kept).toEqual(keptByTrace(trace, 0, image));
    }
    // By hand: frame 0 keeps span 2 and 4 (patches 1, 3) and merged 1 and 3 (patches 0, 2);
    // frame 1 keeps 6 and 9 (patches 0, 3) and dropped its CLS (5) and 7, 8.
    expect(drawnCells(trace, 0, 1).map((c) => c.state)).toEqual(['merged', 'kept', 'merged', 'kept']);
    expect(drawnCells(trace, 1, 1).map((c) => c.state)).toEqual(['kept', 'dropped', 'dropped', 'kept']);
  });

  it('locates a CLS origin as the frame’s leading token and a patch origin after it', () => {
    expect(locateOrigin(trace, 0)).toEqual({ kind: 'leading', image: 0, index: 0 });
    expect(locateOrigin(trace, 5)).toEqual({ kind: 'leading', image: 1, index: 0 });
    expect(locateOrigin(trace, 1)).toEqual({ kind: 'patch', image: 0, patch: 0 });
    expect(locateOrigin(trace, 9)).toEqual({ kind: 'patch', image: 1, patch: 3 });
    // A trace without `leading` reads as before: every token of the range a patch.
    const plain = { images: trace.images!.map(({ leading: _, ...im }) => im) };
    expect(locateOrigin(plain, 5)).toEqual({ kind: 'patch', image: 1, patch: 0 });
  });

  it("reads each frame's CLS fate apart: kept / dropped, then merged with its frame's patches", () => {
    const at1 = patchFates(trace, 1);
    expect(trace.images!.map((im) => leadingFates(at1, im).map((f) => f.state))).toEqual([['kept'], ['dropped']]);
    const at3 = patchFates(trace, 3);
    const [cls] = leadingFates(at3, trace.images![0]);
    expect(cls).toMatchObject({ state: 'merged', token: -2, atLayer: 2 });
    expect(describeFate(cls, groupSizes(at3).get(cls.token!), 'frame token (CLS)')).toBe(
      'frame token (CLS): merged with 2 other patches into one token after layer 2 · score 0.200 (rank 6 after layer 2)',
    );
    expect(drawnCells(trace, 0, 3).map((c) => c.state)).toEqual(['merged', 'kept', 'merged', 'kept']);
  });

  it('counts the CLS in a frame’s cost row (a row of every layer like a patch)', () => {
    // Frame 0: 5 | CLS + 2, 4 + −1 = 4 | 4 | 2, 4 + −2 = 3; frame 1: 5 | 6, 9 = 2 | 2 | 2.
    const rows = imageTokenLayers(trace);
    expect(rows.map((r) => r.perLayer)).toEqual([
      [5, 4, 4, 3],
      [5, 2, 2, 2],
    ]);
    expect(rows[0].share).toBeCloseTo(16 / 20, 12);
  });
});
