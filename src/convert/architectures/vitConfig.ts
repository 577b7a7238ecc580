/** The `vision_config` a synthetic model of a ViT tower carries (CLIP and SigLIP differ only in these three). */
import type { SyntheticVisionDims } from './architecture';
import type { Json } from './configFields';

export function vitSyntheticConfig(
  modelType: string,
  hiddenAct: string,
  layerNormEps: number,
): (dims: SyntheticVisionDims) => Json {
  return (dims) => ({
    model_type: modelType,
    hidden_size: dims.hidden,
    num_hidden_layers: dims.layers,
    num_attention_heads: dims.heads,
    intermediate_size: dims.mlp,
    image_size: dims.imageSize,
    patch_size: dims.patchSize,
    num_channels: 3,
    hidden_act: hiddenAct,
    layer_norm_eps: layerNormEps,
  });
}
