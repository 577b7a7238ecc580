/**
 * The pre-norm ViT encoder layer CLIP and SigLIP share:
 *   x += out_proj(MHA(LN1(x)));  x += fc2(act(fc1(LN2(x))))
 * Attention is bidirectional, with biases on q/k/v/out, scale 1/√hd.
 */
import { attend } from './attention';
import { type Ctx, activation, addLayerNorm, layerNorm, linear, linearStack, mergeHeads, splitHeads } from './common';
import type { VisionDims } from './types';

/** x [1,L,Dv] → [1,L,Dv] for `vision.encoder.layers.{layer}`. */
export async function visionEncoderLayer(ctx: Ctx, x: string, dims: VisionDims, layer: number): Promise<string> {
  const { g } = ctx;
  const { hiddenSize: Dv, numHeads: Hv, intermediateSize: Iv } = dims;
  const hd = Dv / Hv;
  const p = `vision.encoder.layers.${layer}`;
  const n1 = await layerNorm(ctx, x, `${p}.layer_norm1`, Dv, dims.layerNormEps);
  const qkv = await linearStack(
    ctx,
    n1,
    `${p}.self_attn.qkv_proj`,
    ['q', 'k', 'v'].map((t) => ({ prefix: `${p}.self_attn.${t}_proj`, n: Dv })),
    Dv,
    { bias: true },
  );
  const [q, k, v] = qkv.map((t) => splitHeads(ctx, t, Hv, hd));
  const attn = mergeHeads(ctx, attend(ctx, q, k, v, 1 / Math.sqrt(hd)), Hv, hd);
  const out = await linear(ctx, attn, `${p}.self_attn.out_proj`, Dv, Dv); // its bias goes into the fused norm
  const { sum: afterAttn, normed: n2 } = await addLayerNorm(
    ctx,
    out,
    x,
    `${p}.self_attn.out_proj.bias`,
    `${p}.layer_norm2`,
    Dv,
    dims.layerNormEps,
  );
  const fc1 = await linear(ctx, n2, `${p}.mlp.fc1`, Dv, Iv, { bias: true });
  const fc2 = await linear(ctx, activation(ctx, fc1, dims.hiddenAct), `${p}.mlp.fc2`, Iv, Dv, { bias: true });
  return g.op('Add', [afterAttn, fc2], undefined, 'v_residual');
}

/**
 * How many encoder layers to run for HF's `hidden_states[featureLayer]`: hidden_states has
 * numLayers + 1 entries (index 0 = the encoder input), so −2 → numLayers − 1 layers.
 * Layers after the deepest selected one are never built.
 */
export function layersForFeature(dims: Pick<VisionDims, 'numLayers'>, featureLayer: number): number {
  const count = featureLayer < 0 ? dims.numLayers + 1 + featureLayer : featureLayer;
  if (!Number.isInteger(count) || count < 0 || count > dims.numLayers) {
    throw new RangeError(`vision_feature_layer ${featureLayer} is outside 0..${dims.numLayers} (or its negative form)`);
  }
  return count;
}
