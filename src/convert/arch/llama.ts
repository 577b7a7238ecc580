/**
 * LLaMA-family text graphs (LLaMA/Vicuna, Mistral, Qwen2: what differs between them is in the
 * config, `attentionBias` from their registry entries in ../architectures/): one decoder layer
 * per graph, the embedding and the head. Layer I/O is the contract of docs/ARCHITECTURE.md
 * ("Layer graph I/O").
 */
import { type Dim, GraphBuilder, attr } from '../../onnx/builder';
import { type Rotary, applyRotary, attend, causalAllowed, repeatKv, rotaryTables } from './attention';
import { Ctx, activation, addRmsNorm, linear, linearStack, mergeHeads, rmsNorm, splitHeads } from './common';
import type { TensorSource, TextDims, WeightDtype } from './types';

/** Value names one decoder layer reads and writes inside a graph. */
export interface LayerIo {
  hidden: string; // [1,S,D]
  pastKey: string; // [1,Hkv,P,hd]
  pastValue: string;
  presentKey: string; // [1,Hkv,T,hd]
  presentValue: string;
  hiddenOut: string; // [1,S,D]
  /** Post-RoPE queries [1,H,S,hd], only where the graph exposes them (per-layer graphs). */
  query?: string;
}

/** What every layer of one graph shares: the rope caches, the positions, the causal mask. */
export interface SharedAttention {
  rot: Rotary;
  positionIds: string;
  /** bool [S,T] causal mask, made once from the first present key it is asked with. */
  allowed(presentKey: string): string;
}

export function sharedAttention(ctx: Ctx, dims: TextDims, positionIds: string, hidden: string): SharedAttention {
  let mask: string | undefined;
  return {
    rot: rotaryTables(ctx, dims.ropeTheta, dims.headDim, dims.maxPositions),
    positionIds,
    allowed: (presentKey) => (mask ??= causalAllowed(ctx, hidden, presentKey)),
  };
}

/**
 * One LLaMA decoder layer added to `ctx.g` (per-layer graphs hold one, the merged decoder all).
 * Fused where onnxruntime-web has the op (RMSNorm, residual + RMSNorm, RotaryEmbedding) and
 * q/k/v as one stacked matmul: ~27 GPU dispatches per layer where plain ops took ~55, and each
 * costs CPU time in every run (see attention.ts).
 */
export async function addDecoderLayer(
  ctx: Ctx,
  dims: TextDims,
  layer: number,
  io: LayerIo,
  shared: SharedAttention,
): Promise<void> {
  const { g } = ctx;
  const { hiddenSize: D, numHeads: H, numKvHeads: Hkv, headDim: hd, intermediateSize: I, rmsNormEps: eps } = dims;
  const p = `text.layers.${layer}`;

  // Self-attention block.
  const normed = await rmsNorm(ctx, io.hidden, `${p}.input_layernorm.weight`, D, eps);
  const [qLin, kLin, vLin] = await linearStack(
    ctx,
    normed,
    `${p}.self_attn.qkv_proj`,
    [
      { prefix: `${p}.self_attn.q_proj`, n: H * hd },
      { prefix: `${p}.self_attn.k_proj`, n: Hkv * hd },
      { prefix: `${p}.self_attn.v_proj`, n: Hkv * hd },
    ],
    D,
    { bias: dims.attentionBias },
  );
  const q = splitHeads(ctx, applyRotary(ctx, qLin, shared.positionIds, shared.rot, H), H, hd, io.query); // [1,H,S,hd]
  const k = splitHeads(ctx, applyRotary(ctx, kLin, shared.positionIds, shared.rot, Hkv), Hkv, hd); // [1,Hkv,S,hd]
  const v = splitHeads(ctx, vLin, Hkv, hd);
  g.node('Concat', [io.pastKey, k], { outputs: [io.presentKey], attrs: { axis: attr.int(2) } });
  g.node('Concat', [io.pastValue, v], { outputs: [io.presentValue], attrs: { axis: attr.int(2) } });
  const groups = H / Hkv;
  const kAll = repeatKv(ctx, io.presentKey, Hkv, groups, hd); // [1,H,T,hd]
  const vAll = repeatKv(ctx, io.presentValue, Hkv, groups, hd);
  const attn = mergeHeads(ctx, attend(ctx, q, kAll, vAll, 1 / Math.sqrt(hd), shared.allowed(io.presentKey)), H, hd); // [1,S,H·hd]
  const attnOut = await linear(ctx, attn, `${p}.self_attn.o_proj`, H * hd, D);

  // SwiGLU MLP block, its input norm fused with the residual add.
  const { sum: afterAttn, normed: normed2 } = await addRmsNorm(
    ctx,
    attnOut,
    io.hidden,
    `${p}.post_attention_layernorm.weight`,
    D,
    eps,
  );
  const gate = await linear(ctx, normed2, `${p}.mlp.gate_proj`, D, I);
  const up = await linear(ctx, normed2, `${p}.mlp.up_proj`, D, I);
  const mlp = await linear(ctx, g.op('Mul', [activation(ctx, gate, 'silu'), up]), `${p}.mlp.down_proj`, I, D);
  g.node('Add', [afterAttn, mlp], { outputs: [io.hiddenOut] });
}

/** hidden [1,S,D], position_ids [1,S], past [1,Hkv,P,hd] → hidden_out, present_*, query. */
export async function buildDecoderLayer(
  src: TensorSource,
  dims: TextDims,
  layer: number,
  dtype: WeightDtype,
): Promise<GraphBuilder> {
  const g = new GraphBuilder(`layer_${layer}`);
  const ctx = new Ctx(g, src, dtype);
  const { hiddenSize: D, numHeads: H, numKvHeads: Hkv, headDim: hd } = dims;
  const hidden = g.input('hidden', ctx.act, [1, 'S', D]);
  const positionIds = g.input('position_ids', 'int64', [1, 'S']);
  const pastKey = g.input('past_key', ctx.act, [1, Hkv, 'P', hd]);
  const pastValue = g.input('past_value', ctx.act, [1, Hkv, 'P', hd]);
  const io: LayerIo = {
    hidden,
    pastKey,
    pastValue,
    presentKey: 'present_key',
    presentValue: 'present_value',
    hiddenOut: 'hidden_out',
    query: 'query',
  };
  await addDecoderLayer(ctx, dims, layer, io, sharedAttention(ctx, dims, positionIds, hidden));
  g.output('hidden_out', ctx.act, [1, 'S', D]);
  g.output('present_key', ctx.act, [1, Hkv, 'T', hd]);
  g.output('present_value', ctx.act, [1, Hkv, 'T', hd]);
  g.output('query', ctx.act, [1, H, 'S', hd]);
  return g;
}

/** input_ids int64 [1,S] → embeds [1,S,D]. The table stays in the activation dtype (a Gather). */
export async function buildEmbed(
  src: TensorSource,
  dims: TextDims,
  dtype: WeightDtype,
  io: { output: string; batch: Dim; seq: Dim } = { output: 'embeds', batch: 1, seq: 'S' },
): Promise<GraphBuilder> {
  const g = new GraphBuilder('embed');
  const ctx = new Ctx(g, src, dtype);
  const ids = g.input('input_ids', 'int64', [io.batch, io.seq]);
  const table = await ctx.weight('text.embed_tokens.weight', [dims.vocabSize, dims.hiddenSize]);
  g.node('Gather', [table, ids], { outputs: [io.output], attrs: { axis: attr.int(0) } });
  g.output(io.output, ctx.act, [io.batch, io.seq, dims.hiddenSize]);
  return g;
}

/** hidden [1,S,D] → final RMSNorm → lm_head on the last position → logits [1,1,Vocab] (act dtype). */
export async function addHead(ctx: Ctx, dims: TextDims, hidden: string): Promise<string> {
  const { g } = ctx;
  const D = dims.hiddenSize;
  const last = g.op('Slice', [hidden, g.constI64([-1]), g.constI64([2 ** 53 - 1]), g.constI64([1])], undefined, 'last'); // [1,1,D]
  const normed = await rmsNorm(ctx, last, 'text.norm.weight', D, dims.rmsNormEps);
  const headName = dims.tieWordEmbeddings || !ctx.has('lm_head.weight') ? 'text.embed_tokens' : 'lm_head';
  return linear(ctx, normed, headName, D, dims.vocabSize); // [1,1,Vocab]
}

/** hidden [1,S,D] → final RMSNorm → lm_head → logits f32 [1,Vocab] of the last position. */
export async function buildHead(src: TensorSource, dims: TextDims, dtype: WeightDtype): Promise<GraphBuilder> {
  const g = new GraphBuilder('head');
  const ctx = new Ctx(g, src, dtype);
  const hidden = g.input('hidden', ctx.act, [1, 'S', dims.hiddenSize]);
  const logits = await addHead(ctx, dims, hidden);
  const flat = g.op('Reshape', [logits, g.constI64([1, dims.vocabSize])]);
  g.node(ctx.act === 'float32' ? 'Identity' : 'Cast', [flat], {
    outputs: ['logits'],
    attrs: ctx.act === 'float32' ? {} : { to: attr.int(1) },
  });
  g.output('logits', 'float32', [1, dims.vocabSize]);
  return g;
}
