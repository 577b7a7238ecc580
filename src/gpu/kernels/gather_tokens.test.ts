import { describe, expect, it } from 'vitest';
import { gpuBackend, gaussian } from '../testing/harness';
import { gatherTokensReference } from './gather_tokens.reference';

describe('gather_tokens.wgsl', () => {
  it('compacts hidden rows (L 640 × D 4096) with merged extras, and i32 positions', async () => {
    const { be, door, faults } = await gpuBackend();
    const before = door.pool.snapshot().liveBuffers;
    const L = 640,
      D = 4096,
      C = 3;
    const src = gaussian(L * D, 1);
    const extra = gaussian(C * D, 2);
    // Keep 35 pre-prompt, every third visual token, 3 merged, 29 text (unordered rows are fine).
    const rows = [
      ...Array.from({ length: 35 }, (_, i) => i),
      ...Array.from({ length: 192 }, (_, i) => 35 + 3 * i),
      L,
      L + 1,
      L + 2,
      ...Array.from({ length: 29 }, (_, i) => 611 + i),
    ];
    const s = be.upload(src, [L, D]);
    const e = be.upload(extra, [C, D]);
    const r = be.upload(Uint32Array.from(rows), [rows.length]);
    const out = be.gather(s, e, r);
    expect(out.shape).toEqual([rows.length, D]);
    const got = (await be.read(out)) as Float32Array;
    const want = gatherTokensReference(src, extra, rows, D);
    expect(got.every((x, i) => x === want[i])).toBe(true);
    // Positions: W = 1, no extras, odd count not dividing the workgroup.
    const pos = be.upload(
      Int32Array.from({ length: L }, (_, i) => 1000 + i),
      [L],
    );
    const pr = be.upload(Uint32Array.from([0, 5, 639, 7]), [4]);
    const g = be.gather(pos, null, pr);
    expect(g.dtype).toBe('i32');
    expect(Array.from(await be.read(g))).toEqual([1000, 1005, 1639, 1007]);
    for (const t of [s, e, r, out, pos, pr, g]) be.release(t);
    expect(door.pool.snapshot().liveBuffers).toBe(before);
    expect(faults).toEqual([]);
  });
});
