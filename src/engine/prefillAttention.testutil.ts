/**
 * One decoder layer built by the converter's own builder (llama.ts) from random weights, lifted
 * as the loader lifts it (graphRewrite.ts `liftWeights`), run as the plain prefill graph and as
 * the fused one (prefillAttention.ts) on the same feeds: prefillAttention.test.ts (Dawn, S < 32)
 * and bench/gpu/mha-probe.ts (the H200, up to S = 590) compare the two.
 */
import type { TextConfig } from '../convert/checkpoint/config';
import { buildDecoderLayer } from '../convert/arch/llama';
import type { TensorSource, WeightDtype } from '../convert/arch/types';
import { f16ToF32, f32ToF16 } from '../common/float16';
import { BIAS_INPUT, liftWeights, type LiftedWeight } from './graphRewrite';
import { causalBias } from './liftedLayer';
import type { Ort, OrtSession, OrtTensor } from './ortEnv';

export interface LayerShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  intermediate: number;
}

export function layerDims(s: LayerShape): TextConfig {
  return {
    arch: 'llama',
    hiddenSize: s.hidden,
    numLayers: 1,
    numHeads: s.heads,
    numKvHeads: s.kvHeads,
    headDim: s.headDim,
    intermediateSize: s.intermediate,
    vocabSize: 10,
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
    maxPositions: 1024,
    slidingWindow: null,
    attentionBias: false,
    tieWordEmbeddings: false,
    hiddenAct: 'silu',
    bosTokenId: null,
    eosTokenIds: [],
    padTokenId: null,
  };
}

/** Uniform in [-scale, scale), from a seed (an LCG: reproducible, not a test of randomness). */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

function randomSource(d: TextConfig, seed: number): TensorSource {
  const { hiddenSize: D, numHeads: H, numKvHeads: Hkv, headDim: hd, intermediateSize: I } = d;
  const shapes: Record<string, number[]> = {
    'input_layernorm.weight': [D],
    'post_attention_layernorm.weight': [D],
    'self_attn.q_proj.weight': [H * hd, D],
    'self_attn.k_proj.weight': [Hkv * hd, D],
    'self_attn.v_proj.weight': [Hkv * hd, D],
    'self_attn.o_proj.weight': [D, H * hd],
    'mlp.gate_proj.weight': [I, D],
    'mlp.up_proj.weight': [I, D],
    'mlp.down_proj.weight': [D, I],
  };
  const table = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, [name, shape]] of Object.entries(shapes).entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Scores of a few units (softmax neither flat nor one-hot): q·k over D inputs of ~1.
    const data = name.endsWith('layernorm.weight')
      ? seeded(n, seed + k, 0.1).map((x) => 1 + x)
      : seeded(n, seed + k, 1.5 / Math.sqrt(shape[1]));
    table.set(`text.layers.0.${name}`, { shape, data });
  }
  return {
    info: (name) => (table.has(name) ? { dtype: 'F32', shape: table.get(name)!.shape } : undefined),
    read: async (name) => table.get(name)!.data.slice(),
  };
}

/** The lifted prefill graph of one random layer and its weights. */
export async function liftedLayerGraph(
  s: LayerShape,
  dtype: WeightDtype = 'fp32',
  seed = 7,
): Promise<{ model: Uint8Array; weights: LiftedWeight[]; dims: TextConfig }> {
  const dims = layerDims(s);
  const g = await buildDecoderLayer(randomSource(dims, seed), dims, 0, dtype);
  const { model, weights } = liftWeights('layer', g.serialize().model, new Map());
  return { model, weights, dims };
}

export const LAYER_OUTPUTS = ['hidden_out', 'query', 'present_key', 'present_value'] as const;
export type LayerOutputs = Record<(typeof LAYER_OUTPUTS)[number], Float32Array>;

/** The feeds of one prefill run: S new rows after P cached ones (random), the causal bias. */
export function layerFeeds(
  ort: Ort,
  dims: TextConfig,
  weights: LiftedWeight[],
  act: 'float32' | 'float16',
  S: number,
  P: number,
): Record<string, OrtTensor> {
  const { hiddenSize: D, numKvHeads: Hkv, headDim: hd } = dims;
  const tensor = (data: Float32Array, shape: number[]) =>
    act === 'float16' ? new ort.Tensor('float16', f32ToF16(data), shape) : new ort.Tensor('float32', data, shape);
  const feeds: Record<string, OrtTensor> = {
    hidden: tensor(seeded(S * D, 11 + S + P), [1, S, D]),
    position_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: S }, (_, i) => BigInt(P + i)),
      [1, S],
    ),
    past_key: tensor(seeded(P * Hkv * hd, 12 + S + P, 2), [1, Hkv, P, hd]),
    past_value: tensor(seeded(P * Hkv * hd, 13 + S + P), [1, Hkv, P, hd]),
    [BIAS_INPUT]: new ort.Tensor('float32', causalBias(S, P), [1, 1, S, P + S]),
  };
  for (const w of weights) {
    const b = w.bytes;
    const data =
      w.type === 'float32'
        ? new Float32Array(b.slice().buffer)
        : w.type === 'float16'
          ? new Uint16Array(b.slice().buffer)
          : b.slice();
    feeds[w.name] = new ort.Tensor(w.type, data, w.dims);
  }
  return feeds;
}

/** Every layer output as f32 on the CPU. */
export async function runLayer(session: OrtSession, feeds: Record<string, OrtTensor>): Promise<LayerOutputs> {
  const out = await session.run(feeds);
  const r = {} as LayerOutputs;
  for (const k of LAYER_OUTPUTS) {
    const d = await out[k].getData();
    r[k] = out[k].type === 'float16' ? f16ToF32(d as Uint16Array) : new Float32Array(d as Float32Array);
    out[k].dispose();
  }
  return r;
}

/** max |a − b| (Infinity when the lengths differ or a value is NaN on one side only). */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? (Number.isNaN(a[i]) && Number.isNaN(b[i]) ? worst : Infinity) : d;
  }
  return worst;
}

/** Dispatches of compute passes, counted while `fn` runs (GPUComputePassEncoder wrapped). */
export async function countDispatches<T>(fn: () => Promise<T>): Promise<{ result: T; dispatches: number }> {
  const proto = (globalThis as unknown as { GPUComputePassEncoder: { prototype: Record<string, unknown> } })
    .GPUComputePassEncoder.prototype;
  const names = ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect'];
  const originals = names.map((n) => proto[n] as (...a: unknown[]) => unknown);
  let dispatches = 0;
  names.forEach((n, i) => {
    proto[n] = function (this: unknown, ...a: unknown[]) {
      dispatches++;
      return originals[i].apply(this, a);
    };
  });
  try {
    const result = await fn();
    return { result, dispatches };
  } finally {
    names.forEach((n, i) => (proto[n] = originals[i]));
  }
}
