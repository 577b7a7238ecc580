/**
 * Building blocks shared by every architecture: weights in the package dtype, Linear
 * (MatMul or int4 MatMulNBits), RMSNorm and LayerNorm in f32, activations, casts.
 */
import { GraphBuilder, MS_DOMAIN, attr } from '../../onnx/builder';
import { INT4_BLOCK, type Int4Weight, quantizeInt4 } from '../quantize';
import { type ActDtype, type TensorSource, type WeightDtype, activationDtype } from './types';
import { f32ToF16 } from '../../common/float16';

export class MissingWeightError extends Error {
  override readonly name = 'MissingWeightError';
  constructor(
    readonly tensor: string,
    readonly detail: string,
  ) {
    super(`tensor ${tensor}: ${detail}`);
  }
}

/** One graph under construction plus where its weights come from. */
export class Ctx {
  readonly act: ActDtype;
  constructor(
    readonly g: GraphBuilder,
    readonly src: TensorSource,
    readonly dtype: WeightDtype,
  ) {
    this.act = activationDtype(dtype);
  }

  get quantized(): boolean {
    return this.dtype === 'q4' || this.dtype === 'q4f16';
  }

  has(name: string): boolean {
    return this.src.info(name) !== undefined;
  }

  /** Reads a tensor, checking its element count against `shape`. */
  async read(name: string, shape: number[]): Promise<Float32Array> {
    const info = this.src.info(name);
    if (!info) throw new MissingWeightError(name, 'not in the checkpoint');
    const want = shape.reduce((a, b) => a * b, 1);
    const got = info.shape.reduce((a, b) => a * b, 1);
    if (want !== got) throw new MissingWeightError(name, `shape [${info.shape}] does not fit [${shape}]`);
    return this.src.read(name);
  }

  /**
   * A Linear weight [N, K] as int4: straight from the source when it offers it (checked against
   * the layout), else quantised from its floats.
   */
  async readInt4(name: string, n: number, k: number): Promise<Int4Weight> {
    const halfScales = this.act === 'float16';
    const direct = this.src.readInt4 ? await this.src.readInt4(name, { blockSize: INT4_BLOCK, halfScales }) : undefined;
    if (!direct) return quantizeInt4(await this.read(name, [n, k]), n, k, halfScales);
    const blocks = Math.ceil(k / INT4_BLOCK);
    const ok =
      direct.n === n &&
      direct.k === k &&
      direct.blocks === blocks &&
      direct.packed.length === n * blocks * (INT4_BLOCK / 2) &&
      direct.scales.length === n * blocks &&
      direct.scales instanceof (halfScales ? Uint16Array : Float32Array) &&
      direct.zeroPoints.length === n * Math.ceil(blocks / 2);
    if (!ok)
      throw new MissingWeightError(
        name,
        `int4 form from the source does not fit [${n}, ${k}] (block ${INT4_BLOCK}, ${halfScales ? 'f16' : 'f32'} scales)`,
      );
    return direct;
  }

  /** Stores f32 values as an initializer of the activation dtype. */
  actInit(name: string, data: Float32Array, dims: number[]): string {
    return this.act === 'float32' ? this.g.f32(name, data, dims) : this.g.f16(name, f32ToF16(data), dims);
  }

  /** A checkpoint tensor as an activation-dtype initializer (named as in the checkpoint). */
  async weight(name: string, dims: number[]): Promise<string> {
    return this.actInit(name, await this.read(name, dims), dims);
  }

  toF32(x: string): string {
    return this.act === 'float32' ? x : this.g.op('Cast', [x], { to: attr.int(1) }, 'to_f32');
  }

  toAct(x: string): string {
    return this.act === 'float32' ? x : this.g.op('Cast', [x], { to: attr.int(10) }, 'to_f16');
  }
}

/** x [..., K] → x·Wᵀ (+ b) [..., N] for a PyTorch Linear `prefix.weight` [N, K]. */
export async function linear(
  ctx: Ctx,
  x: string,
  prefix: string,
  k: number,
  n: number,
  opts: { bias?: boolean; quantize?: boolean } = {},
): Promise<string> {
  const wName = `${prefix}.weight`;
  const quantize = ctx.quantized && opts.quantize !== false;
  const weight = quantize ? await ctx.readInt4(wName, n, k) : await ctx.read(wName, [n, k]);
  const bias = opts.bias ? await ctx.read(`${prefix}.bias`, [n]) : undefined;
  return emitLinear(ctx, x, wName, k, n, weight, bias);
}

/**
 * Several Linears over the same input as one: their weights stacked along N (row by row, so an
 * int4 row quantises exactly as it would alone), one matmul, then a Split back into
 * [..., n_i] parts. One node where there were three (q/k/v): a run of onnxruntime-web pays per
 * node. `name` names the stacked weight (`<name>.weight…`).
 */
export async function linearStack(
  ctx: Ctx,
  x: string,
  name: string,
  parts: { prefix: string; n: number }[],
  k: number,
  opts: { bias?: boolean } = {},
): Promise<string[]> {
  const n = parts.reduce((sum, p) => sum + p.n, 0);
  let weight: Int4Weight | Float32Array;
  if (ctx.quantized) {
    const ws = await Promise.all(parts.map((p) => ctx.readInt4(`${p.prefix}.weight`, p.n, k)));
    const scales =
      ws[0].scales instanceof Uint16Array
        ? concat(
            Uint16Array,
            ws.map((w) => w.scales as Uint16Array),
          )
        : concat(
            Float32Array,
            ws.map((w) => w.scales as Float32Array),
          );
    weight = {
      ...ws[0],
      n,
      packed: concat(
        Uint8Array,
        ws.map((w) => w.packed),
      ),
      scales,
      zeroPoints: concat(
        Uint8Array,
        ws.map((w) => w.zeroPoints),
      ),
    };
  } else {
    weight = concat(Float32Array, await Promise.all(parts.map((p) => ctx.read(`${p.prefix}.weight`, [p.n, k]))));
  }
  const bias = opts.bias
    ? concat(Float32Array, await Promise.all(parts.map((p) => ctx.read(`${p.prefix}.bias`, [p.n]))))
    : undefined;
  const y = emitLinear(ctx, x, `${name}.weight`, k, n, weight, bias);
  return ctx.g.node('Split', [y, ctx.g.constI64(parts.map((p) => p.n))], {
    outputs: parts.length,
    attrs: { axis: attr.int(-1) },
    hint: `${name}_split`,
  });
}

function concat<T extends Uint8Array | Uint16Array | Float32Array>(Kind: { new (n: number): T }, parts: T[]): T {
  const out = new Kind(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/** The matmul node(s) of a Linear whose weight [N, K] is int4 (MatMulNBits) or plain f32 rows (MatMul). */
function emitLinear(
  ctx: Ctx,
  x: string,
  wName: string,
  k: number,
  n: number,
  weight: Int4Weight | Float32Array,
  bias?: Float32Array,
): string {
  const { g } = ctx;
  let y: string;
  if (!(weight instanceof Float32Array)) {
    const q = weight;
    const b = g.u8(`${wName}.q4`, q.packed, [n, q.blocks, INT4_BLOCK / 2]);
    const s =
      q.scales instanceof Uint16Array
        ? g.f16(`${wName}.scales`, q.scales, [n * q.blocks])
        : g.f32(`${wName}.scales`, q.scales, [n * q.blocks]);
    const zp = g.u8(`${wName}.zp`, q.zeroPoints, [q.zeroPoints.length]);
    y = g.node('MatMulNBits', [x, b, s, zp], {
      domain: MS_DOMAIN,
      hint: 'matmul_nbits',
      // accuracy_level 0: dequantise and multiply in the activation dtype (level 4 drifts ~1e-2).
      attrs: {
        K: attr.int(k),
        N: attr.int(n),
        bits: attr.int(4),
        block_size: attr.int(INT4_BLOCK),
        accuracy_level: attr.int(0),
      },
    })[0];
  } else {
    y = g.op('MatMul', [x, ctx.actInit(`${wName}.T`, transpose(weight, n, k), [k, n])], undefined, 'matmul');
  }
  if (bias) y = g.op('Add', [y, ctx.actInit(`${wName.replace(/\.weight$/, '')}.bias`, bias, [n])], undefined, 'bias');
  return y;
}

/** [N, K] → [K, N] (so MatMul needs no Transpose node), in 64×64 tiles to stay in cache. */
function transpose(w: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(k * n);
  const tile = 64;
  for (let r0 = 0; r0 < n; r0 += tile) {
    for (let c0 = 0; c0 < k; c0 += tile) {
      const rEnd = Math.min(r0 + tile, n);
      const cEnd = Math.min(c0 + tile, k);
      for (let r = r0; r < rEnd; r++) for (let c = c0; c < cEnd; c++) out[c * n + r] = w[r * k + c];
    }
  }
  return out;
}

/**
 * RMSNorm as HF LlamaRMSNorm computes it (x·rsqrt(mean(x²)+eps) in f32, × weight), as one
 * SimplifiedLayerNormalization node (onnxruntime's, in the default domain) with f32 stash.
 */
export async function rmsNorm(ctx: Ctx, x: string, weightName: string, dim: number, eps: number): Promise<string> {
  return ctx.g.node('SimplifiedLayerNormalization', [x, await ctx.weight(weightName, [dim])], {
    hint: 'rms',
    attrs: { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) },
  })[0];
}

/**
 * The residual add and the RMSNorm after it in one `com.microsoft` SkipSimplifiedLayerNormalization:
 * sum = x + skip, normed = rmsNorm(sum). Returns both (sum feeds the next residual).
 */
export async function addRmsNorm(
  ctx: Ctx,
  x: string,
  skip: string,
  weightName: string,
  dim: number,
  eps: number,
): Promise<{ sum: string; normed: string }> {
  const [normed, , , sum] = ctx.g.node(
    'SkipSimplifiedLayerNormalization',
    [x, skip, await ctx.weight(weightName, [dim])],
    {
      domain: MS_DOMAIN,
      outputs: [`${weightName}_normed`, '', '', `${weightName}_residual`],
      attrs: { epsilon: attr.float(eps) },
    },
  );
  return { sum, normed };
}

/**
 * `x + y + bias` and the LayerNorm of it in one `com.microsoft` SkipLayerNormalization (the
 * residual add of a pre-norm block, the bias of the Linear before it, and the next norm).
 * Weights in the activation dtype; onnxruntime accumulates in f32.
 */
export async function addLayerNorm(
  ctx: Ctx,
  y: string,
  x: string,
  biasName: string,
  prefix: string,
  dim: number,
  eps: number,
): Promise<{ sum: string; normed: string }> {
  const w = await ctx.weight(`${prefix}.weight`, [dim]);
  const b = await ctx.weight(`${prefix}.bias`, [dim]);
  const bias = await ctx.weight(biasName, [dim]);
  const [normed, , , sum] = ctx.g.node('SkipLayerNormalization', [y, x, w, b, bias], {
    domain: MS_DOMAIN,
    outputs: [`${prefix}_normed`, '', '', `${prefix}_residual`],
    attrs: { epsilon: attr.float(eps) },
  });
  return { sum, normed };
}

/** LayerNorm (weight + bias) computed in f32, result in the activation dtype. */
export async function layerNorm(ctx: Ctx, x: string, prefix: string, dim: number, eps: number): Promise<string> {
  const { g } = ctx;
  const w = g.f32(`${prefix}.weight`, await ctx.read(`${prefix}.weight`, [dim]), [dim]);
  const b = g.f32(`${prefix}.bias`, await ctx.read(`${prefix}.bias`, [dim]), [dim]);
  const y = g.op(
    'LayerNormalization',
    [ctx.toF32(x), w, b],
    { axis: attr.int(-1), epsilon: attr.float(eps) },
    'layernorm',
  );
  return ctx.toAct(y);
}

/** Activations by their HF `hidden_act` name, written with plain opset-17 ops. */
export function activation(ctx: Ctx, x: string, name: string): string {
  const { g } = ctx;
  switch (name) {
    // One fused node each (onnxruntime's com.microsoft ops, on WebGPU and the CPU): the plain
    // forms took 3–7 dispatches, each a CPU cost per run on onnxruntime-web.
    case 'silu': // x·σ(x) = QuickGelu with alpha 1
      return g.node('QuickGelu', [x], { domain: MS_DOMAIN, hint: 'silu', attrs: { alpha: attr.float(1) } })[0];
    case 'quick_gelu': // x·σ(1.702x)
      return g.node('QuickGelu', [x], {
        domain: MS_DOMAIN,
        hint: 'quick_gelu',
        attrs: { alpha: attr.float(1.702) },
      })[0];
    case 'gelu': // exact GELU 0.5·x·(1 + erf(x/√2)), in f32 (erf in f16 loses the tails)
      return ctx.toAct(g.node('Gelu', [ctx.toF32(x)], { domain: MS_DOMAIN, hint: 'gelu' })[0]);
    case 'gelu_pytorch_tanh': // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in f32
      return ctx.toAct(g.node('FastGelu', [ctx.toF32(x)], { domain: MS_DOMAIN, hint: 'gelu_tanh' })[0]);
    default:
      throw new RangeError(`unsupported activation "${name}" (known: silu, quick_gelu, gelu, gelu_pytorch_tanh)`);
  }
}

/** [1, L, heads·hd] → [1, heads, L, hd], named `output` when given (a graph output). */
export function splitHeads(ctx: Ctx, x: string, heads: number, headDim: number, output?: string): string {
  const { g } = ctx;
  const r = g.op('Reshape', [x, g.constI64([0, 0, heads, headDim])]);
  return g.node('Transpose', [r], {
    attrs: { perm: attr.ints([0, 2, 1, 3]) },
    ...(output ? { outputs: [output] } : {}),
  })[0];
}

/** [1, heads, L, hd] → [1, L, heads·hd] */
export function mergeHeads(ctx: Ctx, x: string, heads: number, headDim: number): string {
  const { g } = ctx;
  const t = g.op('Transpose', [x], { perm: attr.ints([0, 2, 1, 3]) });
  return g.op('Reshape', [t, g.constI64([0, 0, heads * headDim])]);
}
