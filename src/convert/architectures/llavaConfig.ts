/**
 * The normalised LLaVA config: one frozen shape for both file generations (llava-hf repos and
 * transformers-5 `save_pretrained`), made by ../checkpoint/config.ts, read by the graph builders
 * and written into the manifest. Architecture names are the keys of registry.ts.
 */

/** 'mistral' (BakLLaVA): LLaMA's layer without biases, plus a sliding attention window. */
export type TextArch = 'llama' | 'qwen2' | 'mistral';
export type VisionArch = 'clip' | 'siglip';

export interface TextConfig {
  arch: TextArch;
  hiddenSize: number; // D
  numLayers: number;
  numHeads: number; // H
  numKvHeads: number; // Hkv (< H: grouped-query attention)
  headDim: number; // hd
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  rmsNormEps: number;
  maxPositions: number;
  /**
   * Keys a query sees at most (itself included), when some layer attends through a sliding
   * window (Mistral's sliding_window; Qwen2's layer_types / use_sliding_window); null: none.
   * Our layers attend to the whole cache, which equals the window while the sequence fits in
   * it, so the package's context is capped at it (package.ts) rather than the window built.
   */
  slidingWindow: number | null;
  /**
   * q/k/v projections carry biases (decided per architecture: registry.ts). o_proj never does.
   * The decoder layer graph and the tensor table both read this one field.
   */
  attentionBias: boolean;
  /** lm_head shares embed_tokens: the checkpoint then has no canonical `lm_head.weight`. */
  tieWordEmbeddings: boolean;
  hiddenAct: string; // 'silu' for every supported decoder
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
}

export interface VisionConfig {
  arch: VisionArch;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  imageSize: number; // Hpx = Wpx
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
  hiddenAct: string; // 'quick_gelu' (CLIP) | 'gelu_pytorch_tanh' (SigLIP) | …
  /**
   * vision_feature_layer as config.json gives it: an index into hidden_states (0 = embeddings
   * after pre-norm, -1 = last layer), or a list whose states are concatenated on the hidden axis.
   */
  featureLayer: number | number[];
  /** featureLayer as a list (one entry for an int): the projector reads Dv · featureLayers.length. */
  featureLayers: number[];
  /** 'default' drops CLIP's CLS token; 'full' keeps every token. */
  selectStrategy: 'default' | 'full';
}

export interface ProjectorConfig {
  hiddenAct: string; // between linear_1 and linear_2, 'gelu' in LLaVA
  bias: boolean;
  /** linear_1's input: vision hidden size × the number of feature layers. */
  inputSize: number;
}

/** Video-LLaVA's video path (architectures/videollava.ts): frames through a second tower. */
export interface VideoConfig {
  tokenId: number;
  /** The token's string (tokenizer.json's added token with tokenId). */
  token: string;
  /** Visual tokens per frame: every token of the video tower (CLS kept), whatever the strategy. */
  tokensPerFrame: number;
}

export interface LlavaConfig {
  /** The top-level model_type's family (registry.ts FAMILIES); absent = 'llava'. */
  family?: 'llava' | 'video_llava';
  /** Video-LLaVA's video tower and token; absent or null for LLaVA. */
  video?: VideoConfig | null;
  text: TextConfig;
  vision: VisionConfig;
  projector: ProjectorConfig;
  imageTokenId: number;
  imageToken: string;
  /**
   * Visual tokens per image after selection, derived as the model yields them: grid² (+1 for
   * CLIP's CLS) (−1 for 'default', which drops the first token whatever it is). config.json's
   * own image_seq_length is NOT read: transformers' processor and model ignore it too.
   */
  imageSeqLength: number;
}
