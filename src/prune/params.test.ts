import { describe, expect, it } from 'vitest';
import { METHOD_PARAMS, ParamError, resolveParams } from './params';
import { createMethod, knownMethods, UnknownMethodError } from './registry';
import type { ModelDims } from './method';

const DIMS: ModelDims = {
  numLayers: 32,
  hiddenSize: 80,
  numHeads: 5,
  numKvHeads: 5,
  headDim: 16,
  intermediateSize: 192,
  ropeTheta: 10000,
  visualTokens: 576,
};

describe('params', () => {
  it('every registered method has a parameter table and vice versa', () => {
    expect(Object.keys(METHOD_PARAMS).sort()).toEqual(knownMethods().sort());
  });
  it('parses CLI strings and fills defaults', () => {
    const p = resolveParams('sparsevlm', { recycling: 'off', tau: '0.5', assignment: 'cosine' });
    expect(p).toMatchObject({
      recycling: false,
      raters: true,
      tau: 0.5,
      theta: 0.1,
      assignment: 'cosine',
      merge: null,
    });
  });
  it('rejects unknown names, bad values and out-of-range numbers with the expectation', () => {
    expect(() => resolveParams('fastv', { Q: 1 })).toThrow(/--Q.*one of --K, --R/);
    expect(() => resolveParams('fastv', { K: '1.5' })).toThrow(ParamError);
    expect(() => resolveParams('fastv', { R: 2 })).toThrow(/\[0, 1\]/);
    expect(() => resolveParams('sparsevlm', { raters: 'maybe' })).toThrow(/on\|off/);
    expect(() => resolveParams('sparsevlm', { merge: 'max' })).toThrow(/mean\|sum/);
    expect(() => resolveParams('none', { x: 1 })).toThrow(/no parameters/);
  });
  it('paperVariants switches all four, each still individually settable', () => {
    const m = createMethod('sparsevlm', { budget: 64, params: { paperVariants: true, merge: 'mean' } }, DIMS);
    expect(m.params).toMatchObject({
      threshold: 'inclusive',
      assignment: 'cosine',
      merge: 'mean',
      densestDelta: 'row-max',
    });
    const d = createMethod('sparsevlm', { budget: 64, params: { densestDelta: 'row-max' } }, DIMS);
    expect(d.params).toMatchObject({
      threshold: 'strict',
      assignment: 'euclidean',
      merge: 'mean',
      densestDelta: 'row-max',
    });
  });
});

describe('registry', () => {
  it('unknown method throws listing the known ones', () => {
    try {
      createMethod('tome', {}, DIMS);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownMethodError);
      expect((e as Error).message).toContain('sparsevlm, sparsevlm-v1, sparsevlm-v2, fastv, pdrop, divprune');
    }
  });
  it('table methods reject a budget without a table', () => {
    expect(() => createMethod('sparsevlm', { budget: 100 }, DIMS)).toThrow(/192, 128, 96, 64; got 100/);
    expect(() => createMethod('sparsevlm-v2', { budget: 32 }, DIMS)).toThrow(/BudgetError|budgets/);
  });
  it('decode positions and names per method', () => {
    const want: Record<string, string> = {
      none: 'per-layer-cache-length',
      sparsevlm: 'per-layer-cache-length',
      'sparsevlm-v1': 'per-layer-cache-length',
      'sparsevlm-v2': 'unpruned-length',
      fastv: 'unpruned-length',
      pdrop: 'per-layer-cache-length',
      divprune: 'per-layer-cache-length',
    };
    for (const name of knownMethods()) {
      const m = createMethod(name, { budget: 64 }, DIMS);
      expect(m.name).toBe(name);
      expect(m.decodePositions).toBe(want[name]);
    }
  });
});
