import { describe, expect, it } from 'vitest';
import { dawnDoor } from '../testing/dawn';
import { KernelRunner } from '../runner';
import { rng } from '../testing/harness';
import { KvWrite } from './kv_write';
import { kvWriteReference, type KvWriteShape } from './kv_write.reference';
import { KernelInputError } from './errors';

const words = (n: number, seed: number) => {
  const r = rng(seed);
  return Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32));
};

describe('kv_write.wgsl', () => {
  it('matches the reference: a decode step into a slot, a prefill load, f16-packed words, several layers through one slots buffer', async () => {
    const { door, faults } = await dawnDoor();
    const runner = new KernelRunner(door);
    const kernel = new KvWrite(runner);
    const dev = door.device;
    const make = (data: ArrayBufferView, label: string) => {
      const b = dev.createBuffer({
        label,
        size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      dev.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    const read = async (b: GPUBuffer, bytes: number) => door.readbacks.read(b, 0, bytes, 'KvWriteTest');
    const cases: { name: string; s: KvWriteShape }[] = [
      {
        name: 'decode step, 32 heads, hd 128 f32, slot 590 of 768',
        s: { W: 128, heads: 32, srcRows: 1, dstRows: 768, n: 1, at: 590 },
      },
      {
        name: 'prefill load, GQA 2 heads, hd 8 f16 (4 words), 6 rows at 0 of 9',
        s: { W: 4, heads: 2, srcRows: 6, dstRows: 9, n: 6, at: 0 },
      },
      { name: 'last slot', s: { W: 3, heads: 3, srcRows: 1, dstRows: 5, n: 1, at: 4 } },
    ];
    for (const [i, { name, s }] of cases.entries()) {
      const srcK = words(s.heads * s.srcRows * s.W, 10 + i);
      const srcV = words(s.heads * s.srcRows * s.W, 20 + i);
      const dstK = words(s.heads * s.dstRows * s.W, 30 + i);
      const dstV = words(s.heads * s.dstRows * s.W, 40 + i);
      const bias = new Float32Array(s.dstRows + 1).fill(-Infinity);
      bias[s.dstRows] = 0;
      const b = {
        slots: make(new Uint32Array(4), 'slots'),
        srcK: make(srcK, 'srcK'),
        srcV: make(srcV, 'srcV'),
        dstK: make(dstK, 'dstK'),
        dstV: make(dstV, 'dstV'),
        bias: make(bias, 'bias'),
      };
      kernel.run(b, s);
      const want = kvWriteReference(srcK, srcV, dstK, dstV, bias, s);
      expect(new Uint32Array(await read(b.dstK, dstK.byteLength)), `${name}: key`).toEqual(want.key);
      expect(new Uint32Array(await read(b.dstV, dstV.byteLength)), `${name}: value`).toEqual(want.value);
      expect(new Float32Array(await read(b.bias, bias.byteLength)), `${name}: bias`).toEqual(want.bias);
      expect(want.bias.filter((x) => x === 0).length, name).toBe(s.n + 1); // the written rows and the self slot
      for (const buf of Object.values(b)) buf.destroy();
    }

    // The decode path: fixed params per layer, one slots buffer, only the slots change per token.
    const s = { W: 2, heads: 2, srcRows: 1, dstRows: 4, n: 1 };
    const layers = [0, 1].map((l) => ({
      slots: make(Uint32Array.of(0, 0), 'slots'),
      srcK: make(words(4, 50 + l), 'k'),
      srcV: make(words(4, 60 + l), 'v'),
      dstK: make(new Uint32Array(16), 'K'),
      dstV: make(new Uint32Array(16), 'V'),
      bias: make(new Float32Array(5).fill(-1), 'bias'),
    }));
    const slots = layers[0].slots;
    const params = layers.map((_, l) => kernel.params(s, l));
    dev.queue.writeBuffer(slots, 0, Uint32Array.of(3, 1)); // layer 0 at row 3, layer 1 at row 1
    runner.run('KvWriteTest', (pass) => layers.forEach((b, l) => kernel.encode(pass, params[l], { ...b, slots }, s)));
    door.flush();
    for (const [l, at] of [
      [0, 3],
      [1, 1],
    ]) {
      const b = layers[l];
      const src = new Uint32Array(await read(b.srcK, 16));
      const want = kvWriteReference(src, src, new Uint32Array(16), new Uint32Array(16), new Float32Array(5).fill(-1), {
        ...s,
        at,
      });
      expect(new Uint32Array(await read(b.dstK, 64)), `layer ${l}`).toEqual(want.key);
      expect(new Float32Array(await read(b.bias, 20)), `layer ${l} bias`).toEqual(want.bias);
    }

    expect(() => kernel.run(layers[0], { ...s, at: 4 })).toThrow(KernelInputError);
    expect(() =>
      kvWriteReference(
        new Uint32Array(4),
        new Uint32Array(4),
        new Uint32Array(16),
        new Uint32Array(16),
        new Float32Array(5),
        { ...s, n: 2, srcRows: 2, at: 3 },
      ),
    ).toThrow(/cache rows/);
    expect(faults).toEqual([]);
  });
});
