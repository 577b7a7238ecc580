/**
 * Tests only: a plain-TS f32/f64 forward of the fixture `open-llava15-deep` (CLIP ViT layer
 * feature −2, GELU projector, LLaMA decoder, per-layer KV caches), written from the
 * architectures' definitions so the golden check does not wait for the ONNX package. It calls
 * a PruneMethod exactly as the engine contract says: `begin` before layer 0, `afterLayer` after
 * each prefill layer with the layer's hidden/query/key (post-RoPE), plans applied by
 * backend.gather, positions renumbered or gathered, decode positions per the method.
 */
import { readFileSync } from 'node:fs';
import { CpuPruneBackend, CpuTensor } from './cpuBackend';
import type { LayerContext, ModelDims, PruneMethod, PrunePlan, RequestContext, SequenceLayout } from './method';
import type { StageTrace } from '../common/trace';

type W = Map<string, Float32Array>;

export function readSafetensorsF32(path: string): W {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const out: W = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${name}: ${info.dtype}`);
    const [a, b] = info.data_offsets;
    const bytes = buf.subarray(8 + n + a, 8 + n + b);
    out.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
  }
  return out;
}

/** x (rows, in) · Wᵀ (W: (out, in)) + b → (rows, out). */
function linear(
  x: Float32Array,
  rows: number,
  inDim: number,
  w: Float32Array,
  outDim: number,
  b?: Float32Array,
): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = s;
    }
  return y;
}

function layerNorm(
  x: Float32Array,
  rows: number,
  d: number,
  w: Float32Array,
  b: Float32Array,
  eps: number,
): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = (x[r * d + i] - mean) * inv * w[i] + b[i];
  }
  return y;
}

function rmsNorm(x: Float32Array, rows: number, d: number, w: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(s / d + eps);
    for (let i = 0; i < d; i++) y[r * d + i] = x[r * d + i] * inv * w[i];
  }
  return y;
}

/** erf by the all-positive series 2/√π·e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)) (no cancellation). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

/** Softmax attention of q rows over k/v rows; causal when `causalOffset` ≥ 0 (query i sees keys ≤ offset + i). */
function attend(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  heads: number,
  hd: number,
  lq: number,
  lk: number,
  causalOffset: number,
): Float32Array {
  // q (lq, heads·hd), k/v (lk, heads·hd) → (lq, heads·hd)
  const d = heads * hd;
  const out = new Float32Array(lq * d);
  const logits = new Float64Array(lk);
  const scale = 1 / Math.sqrt(hd);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < lq; i++) {
      const last = causalOffset >= 0 ? causalOffset + i : lk - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let s = 0;
        for (let e = 0; e < hd; e++) s += q[i * d + h * hd + e] * k[j * d + h * hd + e];
        logits[j] = s * scale;
        if (logits[j] > max) max = logits[j];
      }
      let denom = 0;
      for (let j = 0; j <= last; j++) denom += logits[j] = Math.exp(logits[j] - max);
      for (let e = 0; e < hd; e++) {
        let s = 0;
        for (let j = 0; j <= last; j++) s += logits[j] * v[j * d + h * hd + e];
        out[i * d + h * hd + e] = s / denom;
      }
    }
  return out;
}

/** HF rotate_half RoPE in place on (rows, heads·hd) at the given positions. */
function rope(
  x: Float32Array,
  rows: number,
  heads: number,
  hd: number,
  positions: ArrayLike<number>,
  theta: number,
): void {
  const half = hd / 2;
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < half; i++) {
      const angle = positions[r] * Math.pow(theta, (-2 * i) / hd);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const base = r * heads * hd + h * hd;
        const a = x[base + i];
        const b = x[base + i + half];
        x[base + i] = a * cos - b * sin;
        x[base + i + half] = b * cos + a * sin;
      }
    }
}

/** (rows, heads·hd) → (heads, rows, hd). */
function headsFirst(x: Float32Array, rows: number, heads: number, hd: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < heads; h++)
      for (let e = 0; e < hd; e++) y[(h * rows + r) * hd + e] = x[r * heads * hd + h * hd + e];
  return y;
}

export class GoldenModel {
  readonly dims: ModelDims = {
    numLayers: 32,
    hiddenSize: 80,
    numHeads: 5,
    numKvHeads: 5,
    headDim: 16,
    intermediateSize: 192,
    ropeTheta: 10000,
    visualTokens: 576,
  };
  constructor(private readonly w: W) {}

  private t(name: string): Float32Array {
    const x = this.w.get(name);
    if (!x) throw new Error(`missing tensor ${name}`);
    return x;
  }

  /** pixel_values (3, 336, 336) → projector outputs (576, 80). CLIP feature layer −2 = encoder layer 0's output. */
  visual(pixels: Float32Array): Float32Array {
    const D = 48,
      P = 14,
      G = 24,
      N = G * G + 1,
      heads = 4,
      hd = 12;
    const conv = this.t('vision_tower.embeddings.patch_embedding.weight');
    let x: Float32Array = new Float32Array(N * D);
    x.set(this.t('vision_tower.embeddings.class_embedding'), 0);
    for (let py = 0; py < G; py++)
      for (let px = 0; px < G; px++)
        for (let o = 0; o < D; o++) {
          let s = 0;
          for (let c = 0; c < 3; c++)
            for (let ky = 0; ky < P; ky++)
              for (let kx = 0; kx < P; kx++)
                s += conv[((o * 3 + c) * P + ky) * P + kx] * pixels[(c * 336 + py * P + ky) * 336 + px * P + kx];
          x[(1 + py * G + px) * D + o] = s;
        }
    const pos = this.t('vision_tower.embeddings.position_embedding.weight');
    for (let i = 0; i < x.length; i++) x[i] += pos[i];
    x = layerNorm(x, N, D, this.t('vision_tower.pre_layrnorm.weight'), this.t('vision_tower.pre_layrnorm.bias'), 1e-5);
    const p = 'vision_tower.encoder.layers.0.';
    const h1 = layerNorm(x, N, D, this.t(p + 'layer_norm1.weight'), this.t(p + 'layer_norm1.bias'), 1e-5);
    const q = linear(h1, N, D, this.t(p + 'self_attn.q_proj.weight'), D, this.t(p + 'self_attn.q_proj.bias'));
    const k = linear(h1, N, D, this.t(p + 'self_attn.k_proj.weight'), D, this.t(p + 'self_attn.k_proj.bias'));
    const v = linear(h1, N, D, this.t(p + 'self_attn.v_proj.weight'), D, this.t(p + 'self_attn.v_proj.bias'));
    const a = linear(
      attend(q, k, v, heads, hd, N, N, -1),
      N,
      D,
      this.t(p + 'self_attn.out_proj.weight'),
      D,
      this.t(p + 'self_attn.out_proj.bias'),
    );
    for (let i = 0; i < x.length; i++) x[i] += a[i];
    const h2 = layerNorm(x, N, D, this.t(p + 'layer_norm2.weight'), this.t(p + 'layer_norm2.bias'), 1e-5);
    const f = linear(h2, N, D, this.t(p + 'mlp.fc1.weight'), 96, this.t(p + 'mlp.fc1.bias')).map(
      (z) => z / (1 + Math.exp(-1.702 * z)),
    );
    const m = linear(f, N, 96, this.t(p + 'mlp.fc2.weight'), D, this.t(p + 'mlp.fc2.bias'));
    for (let i = 0; i < x.length; i++) x[i] += m[i];
    const patches = x.slice(D); // drop CLS ("default" strategy)
    const y = linear(
      patches,
      N - 1,
      D,
      this.t('multi_modal_projector.linear_1.weight'),
      80,
      this.t('multi_modal_projector.linear_1.bias'),
    ).map((z) => 0.5 * z * (1 + erf(z / Math.SQRT2)));
    return linear(
      y,
      N - 1,
      80,
      this.t('multi_modal_projector.linear_2.weight'),
      80,
      this.t('multi_modal_projector.linear_2.bias'),
    );
  }

  embed(ids: readonly number[]): Float32Array {
    const table = this.t('language_model.model.embed_tokens.weight');
    const out = new Float32Array(ids.length * 80);
    ids.forEach((id, i) => out.set(table.subarray(id * 80, id * 80 + 80), i * 80));
    return out;
  }

  /** One decoder layer on S new rows against its cache; returns hidden_out, post-RoPE q/k (rows-major). */
  layer(
    l: number,
    hidden: Float32Array,
    S: number,
    positions: ArrayLike<number>,
    cache: { k: Float32Array; v: Float32Array; length: number },
  ) {
    const D = 80,
      H = 5,
      hd = 16,
      p = `language_model.model.layers.${l}.`;
    const h = rmsNorm(hidden, S, D, this.t(p + 'input_layernorm.weight'), 1e-5);
    const q = linear(h, S, D, this.t(p + 'self_attn.q_proj.weight'), D);
    const k = linear(h, S, D, this.t(p + 'self_attn.k_proj.weight'), D);
    const v = linear(h, S, D, this.t(p + 'self_attn.v_proj.weight'), D);
    rope(q, S, H, hd, positions, 10000);
    rope(k, S, H, hd, positions, 10000);
    const P = cache.length;
    const keys = new Float32Array((P + S) * D);
    keys.set(cache.k.subarray(0, P * D));
    keys.set(k, P * D);
    const values = new Float32Array((P + S) * D);
    values.set(cache.v.subarray(0, P * D));
    values.set(v, P * D);
    const a = linear(attend(q, keys, values, H, hd, S, P + S, P), S, D, this.t(p + 'self_attn.o_proj.weight'), D);
    const x = hidden.slice();
    for (let i = 0; i < x.length; i++) x[i] += a[i];
    const h2 = rmsNorm(x, S, D, this.t(p + 'post_attention_layernorm.weight'), 1e-5);
    const gate = linear(h2, S, D, this.t(p + 'mlp.gate_proj.weight'), 192);
    const up = linear(h2, S, D, this.t(p + 'mlp.up_proj.weight'), 192);
    for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
    const m = linear(gate, S, 192, this.t(p + 'mlp.down_proj.weight'), D);
    for (let i = 0; i < x.length; i++) x[i] += m[i];
    return { hidden: x, query: q, keys, values, length: P + S };
  }

  logitsLast(hidden: Float32Array, S: number): Float32Array {
    const last = rmsNorm(hidden.slice((S - 1) * 80), 1, 80, this.t('language_model.model.norm.weight'), 1e-5);
    return linear(last, 1, 80, this.t('language_model.lm_head.weight'), 270);
  }
}

export interface GoldenRun {
  visualPerLayer: number[];
  stages: StageTrace[];
  raters: number[] | null;
  greedy: number[];
}

const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);

/** Prefill with `method` (pruning between layers) and `steps` greedy decode steps. */
export async function runGolden(
  model: GoldenModel,
  method: PruneMethod,
  inputIds: number[],
  layout0: SequenceLayout,
  visual: Float32Array,
  steps: number,
): Promise<GoldenRun> {
  const backend = new CpuPruneBackend();
  const { dims } = model;
  const D = dims.hiddenSize;
  const embeds = model.embed(inputIds);
  embeds.set(visual, layout0.preLength * D);
  let L = inputIds.length;
  let layout = layout0;
  const textStart = (layout0.preLength + layout0.visualCount) * D;
  const request: RequestContext = {
    backend,
    dims,
    layout,
    embeds: new CpuTensor(embeds, [L, D], 'f32'),
    visualEmbeds: new CpuTensor(visual, [layout0.visualCount, D], 'f32'),
    textEmbeds: new CpuTensor(embeds.slice(textStart), [layout0.textLength, D], 'f32'),
    visualOrigin: Int32Array.from({ length: layout0.visualCount }, (_, i) => i),
  };
  let hidden = request.embeds as CpuTensor;
  let positions = new CpuTensor(
    Int32Array.from({ length: L }, (_, i) => i),
    [L],
    'i32',
  );
  let origin = request.visualOrigin;
  const run: GoldenRun = { visualPerLayer: [], stages: [], raters: null, greedy: [] };
  const apply = (plan: PrunePlan) => {
    hidden = backend.gather(hidden, plan.merged, plan.rows) as CpuTensor;
    L = plan.rows.shape[0];
    positions =
      plan.positions === 'renumber'
        ? new CpuTensor(
            Int32Array.from({ length: L }, (_, i) => i),
            [L],
            'i32',
          )
        : (backend.gather(positions, null, plan.rows) as CpuTensor);
    layout = plan.layout;
    origin = plan.visualOrigin;
    run.stages.push(plan.trace);
  };
  const first = await method.begin(request);
  if (first) apply(first);
  run.raters = method.raterSelection?.()?.raters ?? null;
  const caches = Array.from({ length: dims.numLayers }, () => ({
    k: new Float32Array(0),
    v: new Float32Array(0),
    length: 0,
  }));
  for (let l = 0; l < dims.numLayers; l++) {
    run.visualPerLayer.push(layout.visualCount);
    const out = model.layer(l, hidden.data as Float32Array, L, positions.data as Int32Array, caches[l]);
    caches[l] = { k: out.keys, v: out.values, length: out.length };
    const ctx: LayerContext = {
      ...request,
      layout,
      visualOrigin: origin,
      layer: l,
      hidden: new CpuTensor(out.hidden, [L, D], 'f32'),
      query: new CpuTensor(headsFirst(out.query, L, 5, 16), [5, L, 16], 'f32'),
      key: new CpuTensor(headsFirst(out.keys, L, 5, 16), [5, L, 16], 'f32'),
      positions,
    };
    hidden = ctx.hidden as CpuTensor;
    const plan = await method.afterLayer(ctx);
    if (plan) apply(plan);
  }
  let token = argmax(model.logitsLast(hidden.data as Float32Array, L));
  run.greedy.push(token);
  for (let step = 0; step < steps - 1; step++) {
    let x = model.embed([token]);
    for (let l = 0; l < dims.numLayers; l++) {
      const position = method.decodePositions === 'unpruned-length' ? inputIds.length + step : caches[l].length;
      const out = model.layer(l, x, 1, [position], caches[l]);
      caches[l] = { k: out.keys, v: out.values, length: out.length };
      x = out.hidden;
    }
    token = argmax(model.logitsLast(x, 1));
    run.greedy.push(token);
  }
  return run;
}
