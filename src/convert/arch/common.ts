/**
 * Building blocks shared by every architecture: weights in the package dtype, Linear
 * (MatMul or int4 MatMulNBits), RMSNorm and LayerNorm in f32, activations, casts.
 */
import { GraphBuilder, MS_DOMAIN, attr } from '../onnx/builder';
import { INT4_BLOCK, type Int4Weight, quantizeInt4, toFloat16 } from '../quantize';
import { type ActDtype, type TensorSource, type WeightDtype, activationDtype } from './types';

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
    const ok = direct.n === n && direct.k === k && direct.blocks === blocks && direct.packed.length === n * blocks * (INT4_BLOCK / 2)
      && direct.scales.length === n * blocks && direct.scales instanceof (halfScales ? Uint16Array : Float32Array)
      && direct.zeroPoints.length === n * Math.ceil(blocks / 2);
    if (!ok) throw new MissingWeightError(name, `int4 form from the source does not fit [${n}, ${k}] (block ${INT4_BLOCK}, ${halfScales ? 'f16' : 'f32'} scales)`);
    return direct;
  }

  /** Stores f32 values as an initializer of the activation dtype. */
  actInit(name: string, data: Float32Array, dims: number[]): string {
    return this.act === 'float32' ? this.g.f32(name, data, dims) : this.g.f16(name, toFloat16(data), dims);
  }

  /** A checkpoint tensor as an activation-dtype initializer (named as in the checkpoint). */
  async weight(name: string, dims: number[]): Promise<string> {
    return this.actInit(name, await this.read(name, dims), dims);
  }

  scalar(value: number): string {
    return this.g.constScalar(value, this.act, toFloat16);
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
  const { g } = ctx;
  const wName = `${prefix}.weight`;
  let y: string;
  if (ctx.quantized && opts.quantize !== false) {
    const q = await ctx.readInt4(wName, n, k);
    const b = g.u8(`${wName}.q4`, q.packed, [n, q.blocks, INT4_BLOCK / 2]);
    const s = q.scales instanceof Uint16Array
      ? g.f16(`${wName}.scales`, q.scales, [n * q.blocks])
      : g.f32(`${wName}.scales`, q.scales, [n * q.blocks]);
    const zp = g.u8(`${wName}.zp`, q.zeroPoints, [q.zeroPoints.length]);
    y = g.node('MatMulNBits', [x, b, s, zp], {
      domain: MS_DOMAIN,
      hint: 'matmul_nbits',
      // accuracy_level 0: dequantise and multiply in the activation dtype (level 4 drifts ~1e-2).
      attrs: { K: attr.int(k), N: attr.int(n), bits: attr.int(4), block_size: attr.int(INT4_BLOCK), accuracy_level: attr.int(0) },
    })[0];
  } else {
    const w = await ctx.read(wName, [n, k]);
    y = g.op('MatMul', [x, ctx.actInit(`${wName}.T`, transpose(w, n, k), [k, n])], undefined, 'matmul');
  }
  if (opts.bias) y = g.op('Add', [y, await ctx.weight(`${prefix}.bias`, [n])], undefined, 'bias');
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

/** RMSNorm as in HF LlamaRMSNorm: f32 x·rsqrt(mean(x²)+eps), back to act dtype, × weight. */
export async function rmsNorm(ctx: Ctx, x: string, weightName: string, dim: number, eps: number): Promise<string> {
  const { g } = ctx;
  const xf = ctx.toF32(x);
  const meanSq = g.op('ReduceMean', [g.op('Mul', [xf, xf])], { axes: attr.ints([-1]), keepdims: attr.int(1) });
  const epsName = g.constScalar(eps, 'float32', toFloat16);
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSq, epsName])])]);
  const normed = ctx.toAct(g.op('Mul', [xf, inv], undefined, 'rms'));
  return g.op('Mul', [normed, await ctx.weight(weightName, [dim])]);
}

/** LayerNorm (weight + bias) computed in f32, result in the activation dtype. */
export async function layerNorm(ctx: Ctx, x: string, prefix: string, dim: number, eps: number): Promise<string> {
  const { g } = ctx;
  const w = g.f32(`${prefix}.weight`, await ctx.read(`${prefix}.weight`, [dim]), [dim]);
  const b = g.f32(`${prefix}.bias`, await ctx.read(`${prefix}.bias`, [dim]), [dim]);
  const y = g.op('LayerNormalization', [ctx.toF32(x), w, b], { axis: attr.int(-1), epsilon: attr.float(eps) }, 'layernorm');
  return ctx.toAct(y);
}

/** Activations by their HF `hidden_act` name, written with plain opset-17 ops. */
export function activation(ctx: Ctx, x: string, name: string): string {
  const { g } = ctx;
  switch (name) {
    case 'silu':
      return g.op('Mul', [x, g.op('Sigmoid', [x])], undefined, 'silu');
    case 'quick_gelu': // x·σ(1.702x)
      return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, ctx.scalar(1.702)])])], undefined, 'quick_gelu');
    case 'gelu': {
      // exact GELU: 0.5·x·(1 + erf(x/√2)), in f32 (erf in f16 loses the tails)
      const xf = ctx.toF32(x);
      const erf = g.op('Erf', [g.op('Mul', [xf, g.constScalar(Math.SQRT1_2, 'float32', toFloat16)])]);
      const onePlus = g.op('Add', [erf, g.constScalar(1, 'float32', toFloat16)]);
      const y = g.op('Mul', [g.op('Mul', [xf, onePlus]), g.constScalar(0.5, 'float32', toFloat16)], undefined, 'gelu');
      return ctx.toAct(y);
    }
    case 'gelu_pytorch_tanh': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const xf = ctx.toF32(x);
      const c = (v: number) => g.constScalar(v, 'float32', toFloat16);
      const cube = g.op('Mul', [g.op('Mul', [xf, xf]), xf]);
      const inner = g.op('Mul', [g.op('Add', [xf, g.op('Mul', [cube, c(0.044715)])]), c(Math.sqrt(2 / Math.PI))]);
      const y = g.op('Mul', [g.op('Mul', [xf, g.op('Add', [g.op('Tanh', [inner]), c(1)])]), c(0.5)], undefined, 'gelu_tanh');
      return ctx.toAct(y);
    }
    default:
      throw new RangeError(`unsupported activation "${name}" (known: silu, quick_gelu, gelu, gelu_pytorch_tanh)`);
  }
}

/** [1, L, heads·hd] → [1, heads, L, hd] */
export function splitHeads(ctx: Ctx, x: string, heads: number, headDim: number): string {
  const { g } = ctx;
  const r = g.op('Reshape', [x, g.constI64([0, 0, heads, headDim])]);
  return g.op('Transpose', [r], { perm: attr.ints([0, 2, 1, 3]) });
}

/** [1, heads, L, hd] → [1, L, heads·hd] */
export function mergeHeads(ctx: Ctx, x: string, heads: number, headDim: number): string {
  const { g } = ctx;
  const t = g.op('Transpose', [x], { perm: attr.ints([0, 2, 1, 3]) });
  return g.op('Reshape', [t, g.constI64([0, 0, heads * headDim])]);
}
