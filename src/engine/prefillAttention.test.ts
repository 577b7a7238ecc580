/**
 * Prefill attention as one MultiHeadAttention node (prefillAttention.ts) on Dawn: the fused
 * prefill graph of a converter-built layer (heads == kv heads) gives the plain lifted graph's
 * outputs — hidden_out, query, present_key, present_value — in fewer dispatches per run, for
 * S < 32 (onnxruntime's flash decode kernels; its S ≥ 32 flash prefill kernel needs subgroups of
 * 16+, which SwiftShader's 4 are not: bench/gpu/mha-probe.ts checks it on the H200). And the
 * refusals: grouped kv heads, a graph without the pattern.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupNodeGpu } from '../cli/shared/nodeGpu';
import { ModelProto } from '../onnx/proto';
import { fusePrefillAttention } from './prefillAttention';
import {
  LAYER_OUTPUTS,
  countDispatches,
  layerFeeds,
  liftedLayerGraph,
  maxDiff,
  runLayer,
  seeded,
  type LayerOutputs,
  type LayerShape,
} from './prefillAttention.testutil';
import type { Ort, OrtSession } from './ortEnv';
import type { Engine } from './engine';
import { dawnEngine, fixturePackage, memoryReader } from './fixturePackage.testutil';
import { LiftedLayer, causalBias } from './liftedLayer';
import { BIAS_INPUT } from './graphRewrite';
import { prefillTuning, sessionOptions } from './ortEnv';

const SHAPE: LayerShape = { heads: 4, kvHeads: 4, headDim: 16, hidden: 64, intermediate: 96 };
const heads = (s: LayerShape) => ({ numHeads: s.heads, numKvHeads: s.kvHeads, headDim: s.headDim });

const opTypes = (model: Uint8Array): string[] =>
  (ModelProto.decode(model) as unknown as { graph: { node: { opType: string }[] } }).graph.node.map((n) => n.opType);

describe('fused prefill attention (MultiHeadAttention) against the plain ops, on Dawn', () => {
  let ort: Ort;
  let plain: OrtSession;
  let fused: OrtSession;
  let layer: Awaited<ReturnType<typeof liftedLayerGraph>>;
  beforeAll(async () => {
    const gpu = await setupNodeGpu();
    if (!gpu.adapter) throw new Error(`no WebGPU adapter: ${gpu.reason}`);
    ort = await import('onnxruntime-web/webgpu');
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    layer = await liftedLayerGraph(SHAPE);
    const f = fusePrefillAttention(layer.model, heads(SHAPE));
    expect(f.refusal).toBeNull();
    const opts = {
      executionProviders: ['webgpu'],
      graphOptimizationLevel: 'all' as const,
      logSeverityLevel: 3 as const,
    };
    plain = await ort.InferenceSession.create(layer.model, opts);
    fused = await ort.InferenceSession.create(f.model, opts);
  }, 120_000);
  afterAll(async () => {
    await plain?.release();
    await fused?.release();
  });

  it('replaces the attention ops with one MultiHeadAttention node', () => {
    const before = opTypes(layer.model);
    const after = opTypes(fusePrefillAttention(layer.model, heads(SHAPE)).model);
    expect(after.filter((o) => o === 'MultiHeadAttention')).toHaveLength(1);
    for (const op of ['Softmax', 'Concat']) {
      expect(before, op).toContain(op);
      expect(after, op).not.toContain(op);
    }
    expect(after.length).toBeLessThan(before.length - 8);
  });

  // (S, P): a fresh prefill, pruned lengths after a past (a follow-up), one row (the warm-up's shape).
  for (const [S, P] of [
    [7, 0],
    [18, 0],
    [5, 13],
    [1, 20],
  ]) {
    it(`S ${S}, P ${P}: the same hidden_out, query, present_key/value, in fewer dispatches`, async () => {
      const feeds = () => layerFeeds(ort, layer.dims, layer.weights, 'float32', S, P);
      await runLayer(plain, feeds()); // first runs compile shaders; count the second
      await runLayer(fused, feeds());
      const a = await countDispatches(() => runLayer(plain, feeds()));
      const b = await countDispatches(() => runLayer(fused, feeds()));
      for (const k of LAYER_OUTPUTS) {
        expect(b.result[k].length, k).toBe(a.result[k].length);
        const scale = Math.max(...a.result[k].map(Math.abs));
        expect(scale, k).toBeGreaterThan(0.1); // not a comparison of zeros
        expect(maxDiff(a.result[k], b.result[k]), k).toBeLessThan(2e-5 * Math.max(1, scale));
      }
      expect(b.dispatches, `${a.dispatches} → ${b.dispatches}`).toBeLessThanOrEqual(a.dispatches - 6);
    });
  }
});

describe('fused prefill attention on the wasm EP (onnxruntime’s CPU MultiHeadAttention: right at any S)', () => {
  // The rewrite itself at S ≥ 32 and with f16 activations (the bias cast to f16), which Dawn's
  // SwiftShader cannot check (its flash prefill kernel is wrong at S ≥ 32; it has no shader-f16).
  for (const dtype of ['q4', 'q4f16'] as const) {
    it(`${dtype}: the same outputs at S 40 and after a past`, async () => {
      const ort = await import('onnxruntime-web/webgpu');
      const l = await liftedLayerGraph(SHAPE, dtype);
      const f = fusePrefillAttention(l.model, heads(SHAPE));
      expect(f.refusal).toBeNull();
      expect(opTypes(f.model)).toContain('MultiHeadAttention');
      const opts = { executionProviders: ['wasm'] };
      const plain = await ort.InferenceSession.create(l.model, opts);
      const fused = await ort.InferenceSession.create(f.model, opts);
      const act = dtype === 'q4f16' ? 'float16' : 'float32';
      try {
        for (const [S, P] of [
          [40, 0],
          [7, 33],
        ]) {
          const a = await runLayer(plain, layerFeeds(ort, l.dims, l.weights, act, S, P));
          const b = await runLayer(fused, layerFeeds(ort, l.dims, l.weights, act, S, P));
          for (const k of LAYER_OUTPUTS) {
            const scale = Math.max(...a[k].map(Math.abs));
            expect(scale, k).toBeGreaterThan(0.1);
            expect(maxDiff(a[k], b[k]), `${k} S ${S} P ${P}`).toBeLessThan(
              (act === 'float16' ? 2e-3 : 2e-5) * Math.max(1, scale),
            );
          }
        }
      } finally {
        await plain.release();
        await fused.release();
      }
    });
  }
});

describe('fused prefill attention refusals (the plain graph stays, with the reason)', () => {
  it('refuses grouped kv heads', async () => {
    const gqa = { ...SHAPE, kvHeads: 2 };
    const { model } = await liftedLayerGraph(gqa);
    const r = fusePrefillAttention(model, heads(gqa));
    expect(r.refusal).toBe('2 kv heads for 4 query heads: MultiHeadAttention needs one kv head per query head');
    expect(r.model).toBe(model);
  });

  it('refuses a graph whose attention is not the plain pattern, naming what differs', async () => {
    const { model } = await liftedLayerGraph(SHAPE);
    type G = { graph: { node: { opType: string; attribute: { name: string; i?: number }[] }[] } };
    const edit = (f: (g: G['graph']) => void) => {
      const m = ModelProto.decode(model) as unknown as G;
      f(m.graph);
      return ModelProto.encode(m as never).finish();
    };
    const noSoftmax = edit((g) => {
      for (const n of g.node) if (n.opType === 'Softmax') n.opType = 'Sigmoid';
    });
    expect(fusePrefillAttention(noSoftmax, heads(SHAPE)).refusal).toBe(
      `no plain attention to fuse: the masked scores: ${maskedName(model)} is read by Sigmoid, not by one Softmax`,
    );
    const otherAxis = edit((g) => {
      for (const n of g.node) if (n.opType === 'Concat') n.attribute = [{ name: 'axis', i: 1 }];
    });
    expect(fusePrefillAttention(otherAxis, heads(SHAPE)).refusal).toBe(
      'no plain attention to fuse: present_key is not Concat(past_key, new, axis 2)',
    );
  });

  it('refuses the package graph itself (its causal mask is a Where, made from shapes)', async () => {
    const { buildDecoderLayer } = await import('../convert/arch/llama');
    const { layerDims } = await import('./prefillAttention.testutil');
    const dims = layerDims(SHAPE);
    const source = {
      info: (name: string) => ({ dtype: 'F32', shape: name.endsWith('layernorm.weight') ? [64] : [64, 64] }),
      read: async (name: string) => new Float32Array(name.endsWith('layernorm.weight') ? 64 : 64 * 64),
    };
    const g = await buildDecoderLayer(source, { ...dims, intermediateSize: 64 }, 0, 'fp32');
    expect(fusePrefillAttention(g.serialize().model, heads(SHAPE)).refusal).toMatch(
      /^no plain attention to fuse: the mask is a Where over a bool mask/,
    );
  });
});

/** The name of the mask Add's output (the Softmax's input) in a lifted graph. */
function maskedName(model: Uint8Array): string {
  const g = (ModelProto.decode(model) as unknown as { graph: { node: { opType: string; input: string[] }[] } }).graph;
  return g.node.find((n) => n.opType === 'Softmax')!.input[0];
}

describe('the loader fuses the prefill sessions only, where the tuning asks (open-llava15-deep: 5 heads over 5 kv heads)', () => {
  const NAME = 'open-llava15-deep';
  let fused: Engine;
  beforeAll(async () => {
    const base = await dawnEngine();
    const { Engine } = await import('./engine');
    const rt = base.rt;
    fused = Engine.withRuntime({ ...rt, graphCapture: true, tuning: { ...rt.tuning, fusedAttention: true } });
    await fused.load(memoryReader(await fixturePackage(NAME), NAME));
  }, 300_000);
  afterAll(async () => {
    await fused?.dispose();
  });

  it('every layer fused (SwiftShader: on only when asked), the decode graphs made from the un-fused lifted graph', () => {
    expect(fused.rt.adapter.subgroupMinSize).toBe(4); // SwiftShader
    expect(prefillTuning(fused.rt.adapter, {}).fusedAttention).toBe(false); // so its default is off
    const m = fused.model!;
    expect(m.fusedAttentionUnavailable).toBeNull();
    expect(m.fusedAttentionLayers).toBe(m.manifest.text.numLayers);
    expect(m.decoder?.ready).toBe(true);
    for (const l of m.sessions.layers as LiftedLayer[]) {
      expect(l).toBeInstanceOf(LiftedLayer);
      expect(opTypes(l.model)).not.toContain('MultiHeadAttention');
      expect(opTypes(l.model)).toContain('Softmax');
    }
  });

  it('a layer run through the engine (weights and bias fed by LiftedLayer) gives its un-fused graph’s outputs in fewer dispatches', async () => {
    const { ort } = fused.rt;
    const { hiddenSize: D, numKvHeads: Hkv, headDim: hd } = fused.model!.manifest.text;
    const layer = fused.model!.sessions.layers[3] as LiftedLayer;
    const unfused = await ort.InferenceSession.create(layer.model, sessionOptions(fused.rt, []));
    const feeds = (S: number, P: number) => ({
      hidden: new ort.Tensor('float32', seeded(S * D, 3), [1, S, D]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: S }, (_, i) => BigInt(P + i)),
        [1, S],
      ),
      past_key: new ort.Tensor('float32', seeded(P * Hkv * hd, 4, 2), [1, Hkv, P, hd]),
      past_value: new ort.Tensor('float32', seeded(P * Hkv * hd, 5), [1, Hkv, P, hd]),
    });
    const plainRun = (S: number, P: number) =>
      runLayer(unfused, {
        ...feeds(S, P),
        ...layer.weights,
        [BIAS_INPUT]: new ort.Tensor('float32', causalBias(S, P), [1, 1, S, P + S]),
      });
    const fusedRun = async (S: number, P: number) => {
      const out = await layer.run(feeds(S, P));
      const r = {} as LayerOutputs;
      for (const k of LAYER_OUTPUTS) {
        r[k] = new Float32Array((await out[k].getData()) as Float32Array);
        out[k].dispose();
      }
      return r;
    };
    try {
      for (const [S, P] of [
        [12, 0],
        [6, 9],
      ]) {
        await plainRun(S, P);
        await fusedRun(S, P);
        const a = await countDispatches(() => plainRun(S, P));
        const b = await countDispatches(() => fusedRun(S, P));
        for (const k of LAYER_OUTPUTS) {
          const scale = Math.max(...a.result[k].map(Math.abs));
          expect(scale, k).toBeGreaterThan(0.01);
          expect(maxDiff(a.result[k], b.result[k]), `${k} S ${S} P ${P}`).toBeLessThan(2e-5 * Math.max(1, scale));
        }
        expect(b.dispatches, `${a.dispatches} → ${b.dispatches}`).toBeLessThanOrEqual(a.dispatches - 6);
      }
    } finally {
      await unfused.release();
    }
  });
});
