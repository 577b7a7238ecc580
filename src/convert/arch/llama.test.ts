/**
 * The decoder layer graph's contract (docs/ARCHITECTURE.md): KV cache by cache order,
 * explicit positions that only rotate, GQA, q/k/v biases, all dtypes. (Agreement with
 * transformers itself is golden.test.ts.)
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { TextConfig } from '../checkpoint/config';
import { dequantizeInt4, quantizeInt4 } from '../quantize';
import { ModelProto } from '../../onnx/proto';
import { ROPE_TABLE_CAP, ropeInvFreq, ropeTablePositions, ropeTables } from './attention';
import { buildDecoderLayer } from './llama';
import type { TensorSource, WeightDtype } from './types';
import { f16ToF32, f32ToF16 } from '../../common/float16';

const dims: TextConfig = {
  arch: 'qwen2',
  hiddenSize: 32,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  intermediateSize: 48,
  vocabSize: 10,
  ropeTheta: 10000,
  rmsNormEps: 1e-6,
  maxPositions: 128,
  slidingWindow: null,
  attentionBias: true,
  tieWordEmbeddings: false,
  hiddenAct: 'silu',
  bosTokenId: null,
  eosTokenIds: [],
  padTokenId: null,
};

function randomSource(seed: number): TensorSource {
  const { hiddenSize: D, numHeads: H, numKvHeads: Hkv, headDim: hd, intermediateSize: I } = dims;
  const shapes: Record<string, number[]> = {
    'input_layernorm.weight': [D],
    'post_attention_layernorm.weight': [D],
    'self_attn.q_proj.weight': [H * hd, D],
    'self_attn.q_proj.bias': [H * hd],
    'self_attn.k_proj.weight': [Hkv * hd, D],
    'self_attn.k_proj.bias': [Hkv * hd],
    'self_attn.v_proj.weight': [Hkv * hd, D],
    'self_attn.v_proj.bias': [Hkv * hd],
    'self_attn.o_proj.weight': [D, H * hd],
    'mlp.gate_proj.weight': [I, D],
    'mlp.up_proj.weight': [I, D],
    'mlp.down_proj.weight': [D, I],
  };
  const table = new Map<string, { shape: number[]; data: Float32Array }>();
  let state = seed;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (const [name, shape] of Object.entries(shapes)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: count }, () =>
      name.endsWith('layernorm.weight') ? 1 + 0.1 * rand() : 0.3 * rand(),
    );
    table.set(`text.layers.0.${name}`, { shape, data });
  }
  return {
    info: (name) => (table.has(name) ? { dtype: 'F32', shape: table.get(name)!.shape } : undefined),
    read: async (name) => table.get(name)!.data.slice(),
  };
}

const src = randomSource(3);
const D = dims.hiddenSize;
const hiddenValues = Float32Array.from({ length: 5 * D }, (_, i) => Math.sin(i * 0.37));

class Layer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly half: boolean,
  ) {}
  static async create(dtype: WeightDtype, source: TensorSource = src): Promise<Layer> {
    const g = await buildDecoderLayer(source, dims, 0, dtype);
    return new Layer(await ort.InferenceSession.create(g.serialize().model), dtype === 'fp16' || dtype === 'q4f16');
  }
  private act(data: Float32Array, shape: number[]): ort.Tensor {
    return this.half ? new ort.Tensor('float16', f32ToF16(data), shape) : new ort.Tensor('float32', data, shape);
  }
  /** Runs rows [from, to) of hiddenValues at `positions` against `past`. */
  async run(from: number, to: number, positions: number[], past?: { key: ort.Tensor; value: ort.Tensor }) {
    const empty = this.act(new Float32Array(0), [1, dims.numKvHeads, 0, dims.headDim]);
    const out = await this.session.run({
      hidden: this.act(hiddenValues.slice(from * D, to * D), [1, to - from, D]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(positions.map(BigInt)), [1, positions.length]),
      past_key: past?.key ?? empty,
      past_value: past?.value ?? empty,
    });
    const f32 = (t: ort.Tensor) => (t.type === 'float16' ? f16ToF32(t.data as Uint16Array) : (t.data as Float32Array));
    return {
      hidden: f32(out.hidden_out),
      query: f32(out.query),
      key: out.present_key,
      value: out.present_value,
      keyF32: f32(out.present_key),
    };
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('decoder layer graph', () => {
  it('has the contract shapes (GQA: present has Hkv heads, query has H)', async () => {
    const layer = await Layer.create('fp32');
    const out = await layer.run(0, 5, [0, 1, 2, 3, 4]);
    expect(out.hidden.length).toBe(5 * D);
    expect(out.key.dims).toEqual([1, 2, 5, 8]);
    expect(out.value.dims).toEqual([1, 2, 5, 8]);
    expect(out.query.length).toBe(4 * 5 * 8);
  });

  it('prefill in two chunks with a KV cache equals one prefill (causal by cache order)', async () => {
    const layer = await Layer.create('fp32');
    const whole = await layer.run(0, 5, [0, 1, 2, 3, 4]);
    const first = await layer.run(0, 3, [0, 1, 2]);
    const second = await layer.run(3, 5, [3, 4], first);
    expect(maxDiff(whole.hidden.slice(3 * D), second.hidden)).toBeLessThan(1e-5);
    expect(maxDiff(whole.hidden.slice(0, 3 * D), first.hidden)).toBeLessThan(1e-5);
    expect(maxDiff(whole.keyF32, second.keyF32)).toBeLessThan(1e-5);
  });

  it('positions only rotate: a constant shift keeps hidden_out, changes query; gaps change it', async () => {
    const layer = await Layer.create('fp32');
    const base = await layer.run(0, 5, [0, 1, 2, 3, 4]);
    const shifted = await layer.run(0, 5, [7, 8, 9, 10, 11]);
    expect(maxDiff(base.hidden, shifted.hidden)).toBeLessThan(1e-4); // RoPE scores depend on relative position
    expect(maxDiff(base.query, shifted.query)).toBeGreaterThan(1e-2);
    const gapped = await layer.run(0, 5, [0, 1, 5, 6, 7]);
    expect(maxDiff(base.hidden.slice(0, 2 * D), gapped.hidden.slice(0, 2 * D))).toBeLessThan(1e-5); // still causal
    expect(maxDiff(base.hidden, gapped.hidden)).toBeGreaterThan(1e-3);
  });

  it('fp16 stays within f16 rounding of fp32', async () => {
    const reference = await (await Layer.create('fp32')).run(0, 5, [0, 1, 2, 3, 4]);
    const half = await (await Layer.create('fp16')).run(0, 5, [0, 1, 2, 3, 4]);
    expect(maxDiff(reference.hidden, half.hidden)).toBeLessThan(1e-2);
  });

  it('q4 / q4f16 compute exactly what fp32 / fp16 compute on the dequantised weights', async () => {
    for (const [quantised, plain, halfScales, bound] of [
      ['q4', 'fp32', false, 1e-5],
      ['q4f16', 'fp16', true, 1e-2],
    ] as const) {
      const dequantised: TensorSource = {
        info: src.info,
        read: async (name) => {
          const w = await src.read(name);
          const shape = src.info(name)!.shape;
          return name.endsWith('proj.weight') ? dequantizeInt4(quantizeInt4(w, shape[0], shape[1], halfScales)) : w;
        },
      };
      const reference = await (await Layer.create(plain, dequantised)).run(0, 5, [0, 1, 2, 3, 4]);
      const out = await (await Layer.create(quantised)).run(0, 5, [0, 1, 2, 3, 4]);
      expect(maxDiff(reference.hidden, out.hidden), quantised).toBeLessThan(bound);
    }
  });
});

interface DecodedModel {
  graph: {
    node: { opType: string }[];
    initializer: { name: string; dims: (number | { toNumber(): number })[]; dataType: number }[];
  };
}

describe('rope tables (precomputed, read at each explicit position)', () => {
  it('the layer graph rotates with cos/sin from [maxPositions, hd/2] tables, no in-graph Cos/Sin', async () => {
    for (const [dtype, dataType] of [
      ['fp32', 1],
      ['fp16', 10],
    ] as const) {
      const g = await buildDecoderLayer(src, dims, 0, dtype);
      const model = ModelProto.decode(g.serialize().model) as unknown as DecodedModel;
      const ops = new Set(model.graph.node.map((n) => n.opType));
      expect(ops.has('Cos') || ops.has('Sin'), dtype).toBe(false); // WGSL cos/sin are ~1e-4 on some devices
      for (const name of ['rope_cos', 'rope_sin']) {
        const init = model.graph.initializer.find((t) => t.name === name)!;
        expect(init.dims.map(Number), `${dtype} ${name}`).toEqual([dims.maxPositions, dims.headDim / 2]);
        expect(init.dataType, `${dtype} ${name}`).toBe(dataType);
      }
    }
  });

  it('holds cos/sin of the f32 product p·inv_freq (as torch forms it), to f32 rounding', () => {
    const theta = 10000;
    const hd = 8;
    const rows = 8192;
    const { cos, sin } = ropeTables(theta, hd, rows);
    const inv = ropeInvFreq(theta, hd);
    expect(Array.from(inv)).toEqual([1, Math.fround(0.1), Math.fround(0.01), Math.fround(0.001)]);
    for (const p of [0, 1, 3, 575, 4095, 8191]) {
      for (let i = 0; i < hd / 2; i++) {
        const freq = Math.fround(p * inv[i]);
        // within half an f32 ulp of the exact value (|cos| ≤ 1: ulp ≤ 2^-24 near 1)
        expect(Math.abs(cos[p * 4 + i] - Math.cos(freq))).toBeLessThanOrEqual(2 ** -24);
        expect(Math.abs(sin[p * 4 + i] - Math.sin(freq))).toBeLessThanOrEqual(2 ** -24);
      }
    }
    expect(cos[0]).toBe(1);
    expect(sin[0]).toBe(0);
    // Not exact math: at p = 8191 the f32 product 8191·0.1f is 819.1000366, whose cosine
    // differs from cos(819.1) by ~2e-5 — transformers' tables carry the same rounding.
    expect(Math.fround(8191 * inv[1])).not.toBe(Math.fround(819.1));
    expect(Math.abs(cos[8191 * 4 + 1] - Math.cos(819.1))).toBeGreaterThan(1e-6);
  });

  it('caps the table at ROPE_TABLE_CAP rows; a position past the table is an error, not garbage', async () => {
    expect(ropeTablePositions(2048)).toBe(2048);
    expect(ropeTablePositions(32768)).toBe(ROPE_TABLE_CAP);
    const layer = await Layer.create('fp32');
    const last = dims.maxPositions - 1;
    await expect(layer.run(0, 2, [last - 1, last])).resolves.toBeDefined();
    await expect(layer.run(0, 2, [last, last + 1])).rejects.toThrow(/out of (data )?bounds|out of range|indices/i);
  });
});
