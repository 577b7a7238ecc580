import { describe, expect, it } from 'vitest';
import { expectClose, gaussian, gpuBackend } from '../testing/harness';
import { raterSelectReference } from './rater_select.reference';

describe('rater_select.wgsl', () => {
  it('576 visual × 40 text tokens × D 4096: relevance within 1e-5, identical raters', async () => {
    const { be, faults } = await gpuBackend();
    const V = 576,
      T = 40,
      D = 4096;
    // Entries N(0, D^-1/2) so logits are O(1), like normalised embeddings; text rows get
    // distinct scales so relevance is spread out.
    const visual = gaussian(V * D, 11, D ** -0.25);
    const text = gaussian(T * D, 12, D ** -0.25);
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) text[t * D + d] *= 0.5 + (t % 7) / 3;
    const want = raterSelectReference(visual, text, V, T, D);
    // No relevance within 1e-4 of the threshold 1/T: raters cannot flip on float noise.
    const gap = Math.min(...Array.from(want.relevance, (m) => Math.abs(m * T - 1)));
    expect(gap).toBeGreaterThan(1e-4);
    expect(want.raters.length).toBeGreaterThan(0);
    expect(want.raters.length).toBeLessThan(T);
    const v = be.upload(visual, [V, D]);
    const t = be.upload(text, [T, D]);
    for (const inclusive of [false, true]) {
      const got = await be.raterSelect(v, t, { inclusive });
      expectClose('relevance', got.relevance, want.relevance, 1e-5);
      expect(Array.from(got.raters)).toEqual(Array.from(raterSelectReference(visual, text, V, T, D, inclusive).raters));
    }
    be.release(v);
    be.release(t);
    expect(faults).toEqual([]);
  });

  it('degenerate: all-equal relevance → no raters (strict) / all (inclusive); one text token; odd sizes', async () => {
    const { be, faults } = await gpuBackend();
    const V = 65,
      D = 33;
    const visual = be.upload(gaussian(V * D, 3), [V, D]);
    const zeros = be.upload(new Float32Array(5 * D), [5, D]);
    expect(Array.from((await be.raterSelect(visual, zeros)).raters)).toEqual([]);
    expect(Array.from((await be.raterSelect(visual, zeros, { inclusive: true })).raters)).toEqual([0, 1, 2, 3, 4]);
    const one = be.upload(gaussian(D, 4), [1, D]);
    const r1 = await be.raterSelect(visual, one);
    expectClose('one token', r1.relevance, [1], 1e-6);
    expect(Array.from(r1.raters)).toEqual([]);
    expect(Array.from((await be.raterSelect(visual, one, { inclusive: true })).raters)).toEqual([0]);
    // 70 text tokens: more than the workgroup, so each invocation handles two.
    const text = gaussian(70 * D, 5, 0.3);
    const r70 = await be.raterSelect(visual, be.upload(text, [70, D]));
    const want = raterSelectReference((await be.read(visual)) as Float32Array, text, V, 70, D);
    expectClose('relevance 70', r70.relevance, want.relevance, 1e-5);
    expect(Array.from(r70.raters)).toEqual(Array.from(want.raters));
    expect(faults).toEqual([]);
  });
});
