import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { quantizeInt4 } from '../convert/quantize';
import { GraphBuilder, MS_DOMAIN, attr } from './builder';
import { matMulAccuracies, setMatMulAccuracy } from './matmulAccuracy';

const K = 128;
const N = 64;

/** x [1,S,K] → two MatMulNBits (one with accuracy_level 0, one without the attribute) → Add. */
function twoMatMuls(): Uint8Array {
  const g = new GraphBuilder('acc');
  const x = g.input('x', 'float32', [1, 'S', K]);
  const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const q = quantizeInt4(w, N, K);
  const ins = (tag: string) => [
    x,
    g.u8(`${tag}.q4`, q.packed, [N, q.blocks, 16]),
    g.f32(`${tag}.scales`, q.scales as Float32Array, [N * q.blocks]),
    g.u8(`${tag}.zp`, q.zeroPoints, [q.zeroPoints.length]),
  ];
  const base = { K: attr.int(K), N: attr.int(N), bits: attr.int(4), block_size: attr.int(32) };
  const a = g.node('MatMulNBits', ins('a'), { domain: MS_DOMAIN, attrs: { ...base, accuracy_level: attr.int(0) } })[0];
  const b = g.node('MatMulNBits', ins('b'), { domain: MS_DOMAIN, attrs: base })[0];
  g.node('Add', [a, b], { outputs: ['y'] });
  g.output('y', 'float32', [1, 'S', N]);
  return g.serialize().model;
}

async function run(model: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, [1, x.length / K, K]) });
    return out.y.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('setMatMulAccuracy', () => {
  it('sets every MatMulNBits, with or without the attribute, and leaves the rest alone', () => {
    const model = twoMatMuls();
    expect(matMulAccuracies(model)).toEqual([0, 0]);
    const four = setMatMulAccuracy(model, 4);
    expect(four.nodes).toBe(2);
    expect(matMulAccuracies(four.model)).toEqual([4, 4]);
    expect(matMulAccuracies(setMatMulAccuracy(four.model, 0).model)).toEqual([0, 0]);
  });

  it('returns the same bytes for a graph without MatMulNBits', () => {
    const g = new GraphBuilder('plain');
    g.input('x', 'float32', [2]);
    g.node('Relu', ['x'], { outputs: ['y'] });
    g.output('y', 'float32', [2]);
    const model = g.serialize().model;
    const r = setMatMulAccuracy(model, 4);
    expect(r.nodes).toBe(0);
    expect(r.model).toBe(model);
  });

  it('gives a model onnxruntime runs, at level 4 within int8 rounding of level 0', async () => {
    const model = twoMatMuls();
    const x = Float32Array.from({ length: 3 * K }, (_, i) => Math.cos(i * 0.11));
    const exact = await run(model, x);
    const int8 = await run(setMatMulAccuracy(model, 4).model, x);
    const scale = Math.max(...exact.map(Math.abs));
    const diff = Math.max(...exact.map((v, i) => Math.abs(v - int8[i])));
    expect(diff / scale).toBeLessThan(0.05);
    // Same model back at level 0 reproduces the exact output bit for bit (nothing else changed).
    expect(Array.from(await run(setMatMulAccuracy(setMatMulAccuracy(model, 4).model, 0).model, x))).toEqual(
      Array.from(exact),
    );
  });
});
