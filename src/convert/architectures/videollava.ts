/**
 * Video-LLaVA (`VideoLlavaForConditionalGeneration`, `model_type` video_llava;
 * LanguageBind/Video-LLaVA-7B-hf), as transformers 5.17's modeling_video_llava.py runs it:
 * ONE `vision_config` for TWO towers with their own weights, `image_tower` (canonical `vision.`,
 * images: `vision_feature_layer` + `vision_feature_select_strategy`, as LLaVA) and `video_tower`
 * (canonical `video_vision.`, frames: the same feature layer but EVERY token kept whatever the
 * strategy, CLS included: 257 a frame at 224 px), one projector for both, a LLaMA decoder.
 * `<video>` (`video_token_index`) is expanded by VideoLlavaProcessor to
 * frames × (grid² + num_additional_image_tokens) tokens.
 */
import type { TensorRow } from './architecture';
import { SHARED_LAYOUTS, towerLayout, type FamilyArchitecture } from './family';
import { CLIP } from './clip';
import { SIGLIP } from './siglip';

/** The image tower's rows under `video_vision.` (the video tower is the same architecture). */
function videoTowerRows(): TensorRow[] {
  // Both tower architectures' rows, each only when the config's tower is that architecture.
  return [CLIP, SIGLIP].flatMap((arch) =>
    arch.tensors.map((row) => ({
      pattern: row.pattern.replace(/^vision\./, 'video_vision.'),
      shape: row.shape,
      when: (c) => c.video != null && c.vision.arch === arch.name && (!row.when || row.when(c)),
    })),
  );
}

export const VIDEO_LLAVA: FamilyArchitecture = {
  name: 'video_llava',
  modelTypes: ['video_llava'],
  // transformers' VideoLlavaConfig.
  defaults: {
    image_token_index: 32000,
    video_token_index: 32001,
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
  },
  // VideoLlavaConfig fills an absent vision_config with CLIP ViT-L/14 at 224 px.
  defaultVision: {
    model_type: 'clip_vision_model',
    hidden_size: 1024,
    intermediate_size: 4096,
    num_hidden_layers: 24,
    num_attention_heads: 16,
    image_size: 224,
    patch_size: 14,
  },
  keyLayouts: [
    SHARED_LAYOUTS[0],
    SHARED_LAYOUTS[1],
    towerLayout('vision.', 'image_tower'),
    towerLayout('video_vision.', 'video_tower'),
    SHARED_LAYOUTS[2],
  ],
  video(top, vision, textVocab) {
    const tokenId = top.has('video_token_id') ? top.int('video_token_id', 0) : top.int('video_token_index', 0);
    if (tokenId >= textVocab)
      throw top.bad('video_token_index', `below text_config.vocab_size (${textVocab})`, tokenId);
    // get_video_features takes hidden_states[layer] whole: no select strategy for frames.
    const grid = Math.floor(vision.imageSize / vision.patchSize);
    const cls = [CLIP, SIGLIP].find((a) => a.name === vision.arch)?.embeddings.classToken ? 1 : 0;
    return { tokenId, tokensPerFrame: grid * grid + cls };
  },
  extraTensors: videoTowerRows(),
  // VideoLlavaProcessor's default (LlavaProcessor's is 0): one CLS token.
  processorAdditionalTokens: 1,
};
