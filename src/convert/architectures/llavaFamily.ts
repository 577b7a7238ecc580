/** LlavaForConditionalGeneration (`model_type` llava): one tower, one projector, one decoder. */
import { SHARED_LAYOUTS, towerLayout, type FamilyArchitecture } from './family';

export const LLAVA: FamilyArchitecture = {
  name: 'llava',
  modelTypes: ['llava'],
  // transformers' LlavaConfig.
  defaults: { image_token_index: 32000, projector_hidden_act: 'gelu', multimodal_projector_bias: true },
  // LlavaConfig fills an absent vision_config with CLIP ViT-L/336 (LLaVA-1.5's tower).
  defaultVision: {
    model_type: 'clip_vision_model',
    hidden_size: 1024,
    intermediate_size: 4096,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    image_size: 336,
    patch_size: 14,
  },
  keyLayouts: [SHARED_LAYOUTS[0], SHARED_LAYOUTS[1], towerLayout('vision.', 'vision_tower'), SHARED_LAYOUTS[2]],
  video: () => null,
  extraTensors: [],
  // LlavaProcessor's default.
  processorAdditionalTokens: 0,
};
