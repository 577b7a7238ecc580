import { describe, expect, it } from 'vitest';
import { expectClose, gaussian, gpuBackend } from '../testing/harness';
import { gravityWeight, raterAttentionReference } from './rater_attention.reference';

// LLaVA-1.5 shapes: 32 heads × 128, sequence 640 = 35 pre-prompt + 576 visual + 29 text.
const H = 32,
  hd = 128,
  L = 640,
  vs = 35,
  V = 576;

describe('rater_attention.wgsl', () => {
  it('20 rater rows, 32 heads, hd 128, L 640: block and scores within 1e-5 of the reference', async () => {
    const { be, faults } = await gpuBackend();
    const query = gaussian(H * L * hd, 21);
    const key = gaussian(H * L * hd, 22);
    // Raters among the text tokens (cache indices ≥ 611), plus one inside the visual block
    // (its row sees only part of the visual columns) and the very last token.
    const rows = [612, 613, 615, 617, 618, 620, 621, 623, 624, 626, 627, 629, 630, 631, 633, 634, 636, 637, 300, 639];
    const want = raterAttentionReference(
      query,
      key,
      rows,
      { heads: H, kvHeads: H, headDim: hd, queryLength: L, keyLength: L },
      { visualStart: vs, visualCount: V },
    );
    const q = be.upload(query, [H, L, hd]);
    const k = be.upload(key, [1, H, L, hd]); // ORT's leading batch dim is accepted
    const r = be.upload(Uint32Array.from(rows), [rows.length]);
    const got = be.raterAttention(q, k, { queryRows: r, visualStart: vs, visualCount: V });
    expectClose('block', (await be.read(got.block)) as Float32Array, want.block, 1e-5);
    expectClose('scores', (await be.read(got.scores)) as Float32Array, want.scores, 1e-5);
    // Row 300 is causal: nothing after column 300 − 35.
    const block = (await be.read(got.block)) as Float32Array;
    expect(block.subarray(18 * V + 266, 19 * V).every((x) => x === 0)).toBe(true);
    for (const t of [q, k, r, got.block, got.scores]) be.release(t);
    expect(faults).toEqual([]);
  });

  it('v2: gravity with gapped positions and top-14 heads; GQA (8 kv heads); the same heads kept', async () => {
    const { be, faults } = await gpuBackend();
    const Hkv = 8,
      Lq = 200,
      Tk = 640; // query holds only the newest 200 rows of the cache
    const query = gaussian(H * Lq * hd, 31);
    const key = gaussian(Hkv * Tk * hd, 32);
    // Head h scaled so head sums differ clearly (top-14 is not decided by float noise).
    for (let h = 0; h < H; h++) for (let i = 0; i < Lq * hd; i++) query[h * Lq * hd + i] *= 0.6 + 0.05 * ((h * 7) % 32);
    const positions = Int32Array.from({ length: Tk }, (_, i) => i * 2 + (i > 300 ? 57 : 0)); // gaps, as v2 keeps originals
    const rows = [445, 500, 520, 600, 611, 620, 639];
    const dims = { heads: H, kvHeads: Hkv, headDim: hd, queryLength: Lq, keyLength: Tk };
    const opts = { visualStart: vs, visualCount: V, topHeads: 14, gravity: { positions, ropeTheta: 10000 } };
    const want = raterAttentionReference(query, key, rows, dims, opts);
    expect(want.keptHeads.length).toBe(14);
    const got = be.raterAttention(be.upload(query, [H, Lq, hd]), be.upload(key, [Hkv, Tk, hd]), {
      queryRows: be.upload(Uint32Array.from(rows), [rows.length]),
      visualStart: vs,
      visualCount: V,
      topHeads: 14,
      gravity: { positions: be.upload(positions, [Tk]), ropeTheta: 10000 },
    });
    expectClose('block', (await be.read(got.block)) as Float32Array, want.block, 1e-5);
    expectClose('scores', (await be.read(got.scores)) as Float32Array, want.scores, 1e-5);
    expect(faults).toEqual([]);
  });

  it('gravity weight closed form: w(0) = √hd·… and the values in the research notes', () => {
    expect(gravityWeight(0, 128, 10000)).toBeCloseTo(11.3137, 3);
    expect(gravityWeight(10, 128, 10000)).toBeCloseTo(7.57, 2);
    expect(gravityWeight(100, 128, 10000)).toBeCloseTo(5.4, 2);
  });

  it('no query rows: zero scores (defined), no dispatch of the attention', async () => {
    const { be, faults } = await gpuBackend();
    const q = be.upload(gaussian(2 * 10 * 8, 1), [2, 10, 8]);
    const k = be.upload(gaussian(2 * 10 * 8, 2), [2, 10, 8]);
    const got = be.raterAttention(q, k, {
      queryRows: be.upload(new Uint32Array(0), [0]),
      visualStart: 2,
      visualCount: 5,
    });
    expect(Array.from(await be.read(got.scores))).toEqual([0, 0, 0, 0, 0]);
    expect(faults).toEqual([]);
  });
});
