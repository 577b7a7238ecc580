/**
 * `actsAfter(layer)` lets the engine skip the after-layer hook (no context, no positions upload)
 * where a method cannot act. For every method with an `actsAfter`: (a) wherever it says false,
 * `afterLayer` returns null; (b) a run that skips those calls, as the engine does, gives the same
 * stages, kept sets and visual counts as a run that calls every layer; (c) the layers it acts
 * after are the method's schedule.
 */
import { describe, expect, it } from 'vitest';
import type { LayerContext, PruneMethod } from '../method';
import { createMethod, knownMethods } from '../registry';
import { runToy, toyDims, toyRequest } from './harness.testutil';

const dims = toyDims(32, 64);
const LAYOUT = { preLength: 3, visualCount: 64, textLength: 6 };
const settings = (name: string) =>
  name.startsWith('sparsevlm') ? { budget: 64 } : name === 'fastv' || name === 'divprune' ? { budget: 16 } : {};

/** The method as the engine drives it: afterLayer only where actsAfter allows. */
function skipping(inner: PruneMethod, called: number[]): PruneMethod {
  return {
    name: inner.name,
    decodePositions: inner.decodePositions,
    begin: (c) => inner.begin(c),
    afterLayer: async (ctx: LayerContext) => {
      if (inner.actsAfter?.(ctx.layer) === false) return null;
      called.push(ctx.layer);
      return inner.afterLayer(ctx);
    },
  };
}

describe('PruneMethod.actsAfter', () => {
  const expected: Record<string, number[]> = {
    none: [],
    divprune: [],
    fastv: [1],
    pdrop: [7, 15, 23],
    sparsevlm: [2, 6, 15],
    'sparsevlm-v1': [2, 6, 15, 19],
    'sparsevlm-v2': [2, 6, 15],
  };
  it('every registered method says where it acts', () => {
    expect(knownMethods().sort()).toEqual(Object.keys(expected).sort());
  });
  for (const name of Object.keys(expected)) {
    it(`${name}: null wherever it says it does not act; skipping those calls changes nothing`, async () => {
      const full = createMethod(name, settings(name), dims);
      expect(typeof full.actsAfter).toBe('function');
      const acting = Array.from({ length: dims.numLayers }, (_, l) => l).filter((l) => full.actsAfter!(l));
      expect(acting).toEqual(expected[name]);

      // Call every layer and watch for a plan where the method said it would not act.
      const plansWhereIdle: number[] = [];
      const watched: PruneMethod = {
        name: full.name,
        decodePositions: full.decodePositions,
        begin: (c) => full.begin(c),
        afterLayer: async (ctx) => {
          const plan = await full.afterLayer(ctx);
          if (plan && !full.actsAfter!(ctx.layer)) plansWhereIdle.push(ctx.layer);
          return plan;
        },
      };
      const a = await runToy(watched, toyRequest(dims, LAYOUT, 7));
      expect(plansWhereIdle).toEqual([]);

      const called: number[] = [];
      const b = await runToy(skipping(createMethod(name, settings(name), dims), called), toyRequest(dims, LAYOUT, 7));
      expect(called).toEqual(expected[name]);
      expect(b.visualPerLayer).toEqual(a.visualPerLayer);
      expect(b.stages.map((s) => [s.layer, s.kept])).toEqual(a.stages.map((s) => [s.layer, s.kept]));
      if (name !== 'none') expect(a.stages.length).toBeGreaterThan(0); // the comparison saw real pruning
    });
  }
});
