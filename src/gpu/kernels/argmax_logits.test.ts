import { describe, expect, it } from 'vitest';
import { gaussian, gpuBackend, rng } from '../testing/harness';
import { ArgmaxLogitsKernel } from './argmax_logits';
import { argmaxLogitsReference } from './argmax_logits.reference';
import { argmax } from '../../engine/sampling';

describe('argmax_logits.wgsl', () => {
  it('matches the reference (and sampling.ts argmax): real vocab sizes, ties, −∞, sizes off the workgroup', async () => {
    const { be, door, faults } = await gpuBackend();
    const kernel = new ArgmaxLogitsKernel(be.runner);
    const r = rng(11);
    const tiedMax = Float32Array.from({ length: 32000 }, () => Math.floor(r() * 8));
    const cases: { name: string; logits: Float32Array }[] = [
      { name: 'llama 32000', logits: gaussian(32000, 1, 4) },
      { name: 'qwen2 151936', logits: gaussian(151936, 2, 4) },
      { name: 'fixture 300', logits: gaussian(300, 3) },
      { name: 'quantised ties (max 7 many times)', logits: tiedMax },
      { name: 'all equal 257', logits: new Float32Array(257).fill(-1.5) },
      { name: 'max at the last index', logits: Float32Array.from({ length: 1001 }, (_, i) => i) },
      { name: 'one logit', logits: Float32Array.of(-3) },
      { name: '−∞ except one', logits: Float32Array.from({ length: 513 }, (_, i) => (i === 400 ? -1e30 : -Infinity)) },
      { name: 'all −∞', logits: new Float32Array(600).fill(-Infinity) },
    ];
    for (const c of cases) {
      const t = be.upload(c.logits, [c.logits.length]);
      const got = await kernel.pick(be.bufferOf(t), c.logits.length);
      const want = argmaxLogitsReference(c.logits);
      expect(got, c.name).toBe(want);
      expect(want, `${c.name}: reference = sampling.argmax`).toBe(argmax(c.logits));
      be.release(t);
    }
    // Reads only the first `vocab` floats of a larger buffer (ORT rounds its buffers up).
    const padded = be.upload(Float32Array.of(1, 5, 2, 9, 9), [5]);
    expect(await kernel.pick(be.bufferOf(padded), 3)).toBe(1);
    be.release(padded);
    expect(() =>
      kernel.run(be.bufferOf(be.upload(Float32Array.of(1), [1])), 0, be.bufferOf(be.upload(Uint32Array.of(0), [1]))),
    ).toThrow(/vocab/);
    expect(door.readbacks.bytes).toBe(4 * (cases.length + 1));
    expect(faults).toEqual([]);
  });
});
