/**
 * SigLIP vision tower (LLaVA-Interleave-Qwen's so400m): patch Conv with bias, no CLS token, no
 * pre-norm. Its pooling head is in the checkpoint but never read (../checkpoint/keys.ts IGNORED).
 */
import type { VisionArchitecture, VisionEmbeddings } from './architecture';
import { vitTensors } from './tensorTables';
import { vitSyntheticConfig } from './vitConfig';

const EMBEDDINGS: VisionEmbeddings = { classToken: false, patchBias: true, preNorm: false };

export const SIGLIP: VisionArchitecture<'siglip'> = {
  name: 'siglip',
  modelTypes: ['siglip_vision_model', 'siglip'],
  // transformers' SiglipVisionConfig.
  defaults: {
    hidden_size: 768,
    intermediate_size: 3072,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    num_channels: 3,
    image_size: 224,
    patch_size: 16,
    hidden_act: 'gelu_pytorch_tanh',
    layer_norm_eps: 1e-6,
  },
  embeddings: EMBEDDINGS,
  tensors: vitTensors(EMBEDDINGS),
  syntheticConfig: vitSyntheticConfig('siglip_vision_model', 'gelu_pytorch_tanh', 1e-6),
  // llava-hf/llava-interleave-qwen-0.5b-hf's SiglipImageProcessor (at 384 px).
  imageProcessor: (imageSize) => ({
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'SiglipImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    resample: 3,
    rescale_factor: 1 / 255,
    size: { height: imageSize, width: imageSize },
  }),
};
