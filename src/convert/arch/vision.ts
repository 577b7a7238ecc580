/**
 * vision.onnx: pixel_values f32 [1,C,Hpx,Wpx] → tower up to the deepest feature layer →
 * each selected hidden state (drop the first token for "default") → concatenated on the hidden
 * axis when vision_feature_layer is a list → projector → visual_embeds [1,Vp,D] in the
 * activation dtype.
 */
import { attr, GraphBuilder } from '../../onnx/builder';
import { visionArchitecture, visualTokenCount } from '../architectures/registry';
import { Ctx } from './common';
import { projector } from './projector';
import type { GraphConfig, TensorSource, WeightDtype } from './types';
import { visionEmbeddings } from './visionEmbeddings';
import { layersForFeature, visionEncoderLayer } from './visionEncoder';

/** `output` renames visual_embeds (transformers.js calls it image_features). */
export async function buildVision(
  src: TensorSource,
  cfg: GraphConfig,
  dtype: WeightDtype,
  output = 'visual_embeds',
): Promise<GraphBuilder> {
  const g = new GraphBuilder('vision');
  const ctx = new Ctx(g, src, dtype);
  const v = cfg.vision;
  const pixels = g.input('pixel_values', 'float32', [1, v.numChannels, v.imageSize, v.imageSize]);
  // hidden_states[i] is the output of i encoder layers (0: the embeddings).
  const counts = v.featureLayers.map((l) => layersForFeature(v, l));
  const states = new Map<number, string>();
  let x = await visionEmbeddings(ctx, ctx.toAct(pixels), v, visionArchitecture(v.arch).embeddings);
  states.set(0, x);
  for (let layer = 0; layer < Math.max(...counts); layer++) {
    x = await visionEncoderLayer(ctx, x, v, layer);
    states.set(layer + 1, x);
  }
  const selected = counts.map((count) => {
    const state = states.get(count)!;
    // HF `selected_image_feature[:, 1:]` (per state for a list): drops CLS for CLIP, and (as HF
    // does) the first patch for a tower without CLS.
    return v.selectStrategy === 'default'
      ? g.op('Slice', [state, g.constI64([1]), g.constI64([2 ** 53 - 1]), g.constI64([1])], undefined, 'drop_cls')
      : state;
  });
  const features =
    selected.length === 1 ? selected[0] : g.op('Concat', selected, { axis: attr.int(-1) }, 'feature_concat'); // [1,Vp,Dv·n]
  const out = await projector(
    ctx,
    features,
    v.hiddenSize * counts.length,
    cfg.text.hiddenSize,
    cfg.projector.hiddenAct,
  );
  g.node('Identity', [out], { outputs: [output] });
  g.output(output, ctx.act, [1, visualTokenCount(v), cfg.text.hiddenSize]);
  return g;
}
