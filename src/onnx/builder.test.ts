import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dequantizeInt4, quantizeInt4 } from '../convert/quantize';
import { GraphBuilder, MS_DOMAIN, attr } from './builder';

/** y = (x + bias)·W via MatMulNBits, then Softmax over the last axis; x [1,S,K]. */
function buildGraph(k: number, n: number, w: Float32Array, bias: Float32Array): GraphBuilder {
  const g = new GraphBuilder('test');
  const x = g.input('x', 'float32', [1, 'S', k]);
  const added = g.op('Add', [x, g.f32('bias', bias, [k])]);
  const q = quantizeInt4(w, n, k);
  const y = g.node(
    'MatMulNBits',
    [
      added,
      g.u8('w.q4', q.packed, [n, q.blocks, 16]),
      g.f32('w.scales', q.scales as Float32Array, [n * q.blocks]),
      g.u8('w.zp', q.zeroPoints, [q.zeroPoints.length]),
    ],
    {
      domain: MS_DOMAIN,
      attrs: {
        K: attr.int(k),
        N: attr.int(n),
        bits: attr.int(4),
        block_size: attr.int(32),
        accuracy_level: attr.int(0),
      },
    },
  )[0];
  g.node('Softmax', [y], { outputs: ['y'], attrs: { axis: attr.int(-1) } });
  g.output('y', 'float32', [1, 'S', n]);
  return g;
}

/** Reference: softmax((x + bias)·Ŵᵀ) with Ŵ the dequantised weight MatMulNBits multiplies by. */
function expected(
  x: Float32Array,
  s: number,
  k: number,
  n: number,
  weight: Float32Array,
  bias: Float32Array,
): Float32Array {
  const w = dequantizeInt4(quantizeInt4(weight, n, k));
  const out = new Float32Array(s * n);
  for (let t = 0; t < s; t++) {
    const row = Array.from({ length: n }, (_, j) => {
      let acc = 0;
      for (let c = 0; c < k; c++) acc += (x[t * k + c] + bias[c]) * w[j * k + c];
      return acc;
    });
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    exps.forEach((e, j) => (out[t * n + j] = e / sum));
  }
  return out;
}

describe('GraphBuilder', () => {
  const k = 40;
  const n = 3;
  const w = Float32Array.from({ length: n * k }, (_, i) => (((i * 7) % 3) - 1) * 0.5);
  const bias = Float32Array.from({ length: k }, (_, i) => i / 100);
  const x = Float32Array.from({ length: 2 * k }, (_, i) => Math.sin(i));

  it('writes a model onnxruntime runs, with symbolic dims and com.microsoft ops', async () => {
    const { model, data } = buildGraph(k, n, w, bias).serialize();
    expect(data).toBeUndefined();
    const session = await ort.InferenceSession.create(model);
    const { y } = await session.run({ x: new ort.Tensor('float32', x, [1, 2, k]) });
    expect(y.dims).toEqual([1, 2, n]);
    const want = expected(x, 2, k, n, w, bias);
    (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it('is deterministic and moves large initializers to aligned external data', async () => {
    const a = buildGraph(k, n, w, bias).serialize({ location: 'g.onnx.data', minBytes: 100, align: 64 });
    const b = buildGraph(k, n, w, bias).serialize({ location: 'g.onnx.data', minBytes: 100, align: 64 });
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(true);
    // Only bias (160 B) reaches the 100 B threshold; w.q4 (96 B), scales and zero points stay inline.
    expect(a.data!.byteLength).toBe(160);
    const inline = buildGraph(k, n, w, bias).serialize();
    expect(a.model.byteLength).toBeLessThan(inline.model.byteLength);
    const session = await ort.InferenceSession.create(a.model, {
      externalData: [{ path: 'g.onnx.data', data: a.data! }],
    });
    const { y } = await session.run({ x: new ort.Tensor('float32', x, [1, 2, k]) });
    const want = expected(x, 2, k, n, w, bias);
    (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it('aligns every external tensor', () => {
    const g = new GraphBuilder('align');
    const inp = g.input('x', 'float32', [3]);
    g.node(
      'Add',
      [g.op('Add', [inp, g.f32('a', new Float32Array(3).fill(1), [3])]), g.f32('b', new Float32Array(3).fill(2), [3])],
      { outputs: ['y'] },
    );
    g.output('y', 'float32', [3]);
    const { data } = g.serialize({ location: 'x.data', minBytes: 1, align: 64 });
    expect(data!.byteLength).toBe(64 + 12);
    expect(new Float32Array(data!.slice(64).buffer)[0]).toBe(2);
  });

  it('refuses an initializer whose bytes do not fit its dims', () => {
    const g = new GraphBuilder('bad');
    expect(() => g.f32('w', new Float32Array(5), [2, 3])).toThrow(/dims \[2,3\] need 24 bytes, got 20/);
  });
});
