/**
 * vision.onnx: pixel_values f32 [1,C,Hpx,Wpx] → tower up to the feature layer → select
 * (drop CLS for "default") → projector → visual_embeds [1,Vp,D] in the activation dtype.
 */
import { GraphBuilder } from '../onnx/builder';
import { clipEmbeddings } from './clip';
import { Ctx } from './common';
import { projector } from './projector';
import { siglipEmbeddings } from './siglip';
import type { GraphConfig, TensorSource, WeightDtype } from './types';
import { layersForFeature, visionEncoderLayer } from './vision_encoder';

const embeddingsByArch = { clip: clipEmbeddings, siglip: siglipEmbeddings };

/** `output` renames visual_embeds (transformers.js calls it image_features). */
export async function buildVision(src: TensorSource, cfg: GraphConfig, dtype: WeightDtype, output = 'visual_embeds'): Promise<GraphBuilder> {
  const g = new GraphBuilder('vision');
  const ctx = new Ctx(g, src, dtype);
  const v = cfg.vision;
  const embeddings = embeddingsByArch[v.arch];
  if (!embeddings) throw new RangeError(`unsupported vision tower "${v.arch}" (known: ${Object.keys(embeddingsByArch).join(', ')})`);
  const grid = v.imageSize / v.patchSize;
  const pixels = g.input('pixel_values', 'float32', [1, v.numChannels, v.imageSize, v.imageSize]);
  let x = await embeddings(ctx, ctx.toAct(pixels), v);
  const layers = layersForFeature(v);
  for (let layer = 0; layer < layers; layer++) x = await visionEncoderLayer(ctx, x, v, layer);
  const hasCls = v.arch === 'clip';
  if (v.selectStrategy === 'default') {
    // HF `selected_image_feature[:, 1:]`: drops CLS for CLIP, and (as HF does) the first
    // patch for a tower without CLS.
    x = g.op('Slice', [x, g.constI64([1]), g.constI64([2 ** 53 - 1]), g.constI64([1])], undefined, 'drop_cls');
  }
  const out = await projector(ctx, x, v.hiddenSize, cfg.text.hiddenSize, cfg.projector.hiddenAct);
  g.node('Identity', [out], { outputs: [output] });
  const tokens = grid * grid + (hasCls ? 1 : 0) - (v.selectStrategy === 'default' ? 1 : 0);
  g.output(output, ctx.act, [1, tokens, cfg.text.hiddenSize]);
  return g;
}
