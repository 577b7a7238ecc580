import { describe, expect, it } from 'vitest';
import { gpuBackend, rng } from '../testing/harness';
import { selectRowsReference } from './select_rows.reference';

describe('select_rows.wgsl', () => {
  it('slices and shifts a u32 index list as its CPU twin does (576-token order, 154 candidates)', async () => {
    const { be, door, faults } = await gpuBackend();
    const before = door.pool.snapshot().liveBuffers;
    const r = rng(7);
    // A permutation of 576 visual tokens, as topk_keep's order is; candidates order[82..236) + 35.
    const order = Uint32Array.from({ length: 576 }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const src = be.upload(order, [order.length]);
    for (const [start, count, add] of [
      [82, 154, 35],
      [0, 576, 0],
      [575, 1, 2 ** 32 - 1],
      [10, 0, 5],
    ]) {
      const out = be.selectRows(src, start, count, add);
      expect(out.shape).toEqual([count]);
      expect(Array.from(await be.read(out)), `start ${start} count ${count} add ${add}`).toEqual(
        Array.from(selectRowsReference(order, start, count, add)),
      );
      be.release(out);
    }
    expect(() => be.selectRows(src, 500, 100, 0)).toThrow(/≥ 600 elements/);
    expect(() => selectRowsReference(order, 500, 100, 0)).toThrow(/≥ 600 elements/);
    be.release(src);
    expect(door.pool.snapshot().liveBuffers).toBe(before);
    expect(faults).toEqual([]);
  });
});
