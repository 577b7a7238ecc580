/**
 * CLIP vision tower (LLaVA-1.5's ViT-L/336): patch Conv without bias, a CLS token with its own
 * position, `pre_layrnorm` after the positions.
 */
import type { VisionArchitecture, VisionEmbeddings } from './architecture';
import { vitTensors } from './tensorTables';
import { vitSyntheticConfig } from './vitConfig';

const EMBEDDINGS: VisionEmbeddings = { classToken: true, patchBias: false, preNorm: true };

export const CLIP: VisionArchitecture<'clip'> = {
  name: 'clip',
  modelTypes: ['clip_vision_model', 'clip'],
  // transformers' CLIPVisionConfig.
  defaults: {
    hidden_size: 768,
    intermediate_size: 3072,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    num_channels: 3,
    image_size: 224,
    patch_size: 32,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
  },
  embeddings: EMBEDDINGS,
  tensors: vitTensors(EMBEDDINGS),
  syntheticConfig: vitSyntheticConfig('clip_vision_model', 'quick_gelu', 1e-5),
  // llava-hf/llava-1.5-7b-hf's CLIPImageProcessor (at 336 px).
  imageProcessor: (imageSize) => ({
    crop_size: { height: imageSize, width: imageSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: imageSize },
  }),
};
