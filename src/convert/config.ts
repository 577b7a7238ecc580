/**
 * The normalised LLaVA config: one frozen shape for both file generations (llava-hf repos and
 * transformers-5 `save_pretrained`), read by the graph builders and written into the manifest.
 *
 * Where a key is absent we apply the default of the transformers config class, exactly as
 * transformers does when it loads the file: the hub's llava-hf configs are diff-only (e.g.
 * llava-1.5-7b-hf's text_config has no hidden_size; LlamaConfig's default 4096 applies).
 * A default that does not fit the weights is caught later by the shape check in checkpoint.ts.
 * Keys that choose the architecture have no default: missing → ConvertError('missing-key').
 */
import { ConvertError } from './errors';

export type TextArch = 'llama' | 'qwen2';
export type VisionArch = 'clip' | 'siglip';
export const TEXT_ARCHS: readonly TextArch[] = ['llama', 'qwen2'];
export const VISION_ARCHS: readonly VisionArch[] = ['clip', 'siglip'];

export interface TextConfig {
  arch: TextArch;
  hiddenSize: number;         // D
  numLayers: number;
  numHeads: number;           // H
  numKvHeads: number;         // Hkv (< H: grouped-query attention)
  headDim: number;            // hd
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  rmsNormEps: number;
  maxPositions: number;
  /** q/k/v projections carry biases (always for Qwen2; `attention_bias` for LLaMA). o_proj never does. */
  attentionBias: boolean;
  /** lm_head shares embed_tokens: the checkpoint then has no canonical `lm_head.weight`. */
  tieWordEmbeddings: boolean;
  hiddenAct: string;          // 'silu' for both supported decoders
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
  imageSize: number;          // Hpx = Wpx
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
  hiddenAct: string;          // 'quick_gelu' (CLIP) | 'gelu_pytorch_tanh' (SigLIP) | …
  /** Index into hidden_states (0 = embeddings after pre-norm, -1 = last layer), as LLaVA reads it. */
  featureLayer: number;
  /** 'default' drops CLIP's CLS token; 'full' keeps every token. */
  selectStrategy: 'default' | 'full';
}

export interface ProjectorConfig {
  hiddenAct: string;          // between linear_1 and linear_2, 'gelu' in LLaVA
  bias: boolean;
}

export interface LlavaConfig {
  text: TextConfig;
  vision: VisionConfig;
  projector: ProjectorConfig;
  imageTokenId: number;
  imageToken: string;
  /** Visual tokens per image after selection: gridSize² (+1 for CLIP with 'full'). */
  imageSeqLength: number;
}

type Json = Record<string, unknown>;

// Defaults of transformers' LlamaConfig / Qwen2Config / CLIPVisionConfig / SiglipVisionConfig /
// LlavaConfig (the values their __init__ signatures carry).
const TEXT_DEFAULTS: Record<TextArch, Json> = {
  llama: {
    vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
    num_attention_heads: 32, hidden_act: 'silu', max_position_embeddings: 2048, rms_norm_eps: 1e-6,
    rope_theta: 10000, attention_bias: false, tie_word_embeddings: false, bos_token_id: 1,
    eos_token_id: 2, pad_token_id: null,
  },
  qwen2: {
    vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32,
    num_attention_heads: 32, hidden_act: 'silu', max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 10000, tie_word_embeddings: false, bos_token_id: null, eos_token_id: null,
    pad_token_id: null,
  },
};
const VISION_DEFAULTS: Record<VisionArch, Json> = {
  clip: {
    hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12,
    num_channels: 3, image_size: 224, patch_size: 32, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5,
  },
  siglip: {
    hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12,
    num_channels: 3, image_size: 224, patch_size: 16, hidden_act: 'gelu_pytorch_tanh',
    layer_norm_eps: 1e-6,
  },
};
// LlavaConfig fills an absent vision_config with CLIP ViT-L/336 (LLaVA-1.5's tower).
const LLAVA_DEFAULT_VISION: Json = {
  model_type: 'clip_vision_model', hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24,
  num_attention_heads: 16, image_size: 336, patch_size: 14,
};

const TEXT_MODEL_TYPES: Record<string, TextArch> = { llama: 'llama', qwen2: 'qwen2' };
const VISION_MODEL_TYPES: Record<string, VisionArch> = {
  clip_vision_model: 'clip', clip: 'clip', siglip_vision_model: 'siglip', siglip: 'siglip',
};

/** Reads fields of one config object, naming `file` and the dotted key path in every error. */
class Fields {
  constructor(readonly obj: Json, readonly path: string, readonly file: string, readonly defaults: Json = {}) {}

  private key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }
  has(name: string): boolean {
    return this.obj[name] !== undefined;
  }
  raw(name: string): unknown {
    return this.obj[name] !== undefined ? this.obj[name] : this.defaults[name];
  }
  required(name: string): unknown {
    const value = this.raw(name);
    if (value === undefined) throw new ConvertError('missing-key', this.file, `missing key "${this.key(name)}"`);
    return value;
  }
  bad(name: string, want: string, got: unknown): ConvertError {
    return new ConvertError('bad-value', this.file, `"${this.key(name)}" must be ${want}, got ${JSON.stringify(got)}`);
  }
  int(name: string, min = 1): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw this.bad(name, min > 0 ? 'a positive integer' : `an integer ≥ ${min}`, value);
    }
    return value;
  }
  signedInt(name: string): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.bad(name, 'an integer', value);
    return value;
  }
  num(name: string): number {
    const value = this.required(name);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw this.bad(name, 'a positive number', value);
    return value;
  }
  bool(name: string): boolean {
    const value = this.required(name);
    if (typeof value !== 'boolean') throw this.bad(name, 'true or false', value);
    return value;
  }
  str(name: string): string {
    const value = this.required(name);
    if (typeof value !== 'string') throw this.bad(name, 'a string', value);
    return value;
  }
  /** null/absent → null; an int → itself. */
  optInt(name: string): number | null {
    const value = this.raw(name);
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw this.bad(name, 'a token id', value);
    return value;
  }
  object(name: string): Fields {
    const value = this.required(name);
    if (!isObject(value)) throw this.bad(name, 'an object', value);
    return new Fields(value, this.key(name), this.file);
  }
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pickArch<A extends string>(f: Fields, table: Record<string, A>, what: string): A {
  const modelType = f.str('model_type');
  const arch = table[modelType];
  if (!arch) {
    throw new ConvertError(
      'unsupported', f.file,
      `unsupported ${what} "${modelType}" in "${f.path ? f.path + '.' : ''}model_type" (supported: ${Object.keys(table).join(', ')})`,
    );
  }
  return arch;
}

function parseText(top: Fields): TextConfig {
  // LlavaConfig fills an absent text_config with LlamaConfig defaults.
  const given = top.has('text_config') ? top.object('text_config').obj : { model_type: 'llama' };
  const probe = new Fields(given, 'text_config', top.file);
  const arch = pickArch(probe, TEXT_MODEL_TYPES, 'text model');
  const f = new Fields(given, 'text_config', top.file, TEXT_DEFAULTS[arch]);

  const hiddenSize = f.int('hidden_size');
  const numHeads = f.int('num_attention_heads');
  const numKvHeads = f.has('num_key_value_heads') && f.raw('num_key_value_heads') !== null ? f.int('num_key_value_heads') : numHeads;
  if (numHeads % numKvHeads !== 0) throw f.bad('num_key_value_heads', `a divisor of num_attention_heads (${numHeads})`, numKvHeads);
  const headDim = f.has('head_dim') && f.raw('head_dim') !== null ? f.int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) throw f.bad('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`, numHeads);

  // rope_theta: transformers 5 nests it in rope_parameters; the hub's older files keep it flat.
  let ropeTheta: number;
  const ropeParams = f.raw('rope_parameters') ?? f.raw('rope_scaling');
  if (isObject(ropeParams)) {
    const rp = new Fields(ropeParams, `text_config.${f.has('rope_parameters') ? 'rope_parameters' : 'rope_scaling'}`, top.file);
    const ropeType = rp.raw('rope_type') ?? rp.raw('type') ?? 'default';
    if (ropeType !== 'default') {
      throw new ConvertError('unsupported', top.file, `unsupported rope_type "${String(ropeType)}" (supported: default)`);
    }
    ropeTheta = rp.has('rope_theta') ? rp.num('rope_theta') : f.num('rope_theta');
  } else {
    ropeTheta = f.num('rope_theta');
  }

  const eos = f.raw('eos_token_id');
  const eosList = eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosList.every((id) => typeof id === 'number' && Number.isInteger(id))) throw f.bad('eos_token_id', 'a token id or a list of them', eos);
  const topTie = top.raw('tie_word_embeddings');
  const tie = f.has('tie_word_embeddings') ? f.bool('tie_word_embeddings') : typeof topTie === 'boolean' ? topTie : f.bool('tie_word_embeddings');

  return {
    arch,
    hiddenSize,
    numLayers: f.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: f.int('intermediate_size'),
    vocabSize: f.int('vocab_size'),
    ropeTheta,
    rmsNormEps: f.num('rms_norm_eps'),
    maxPositions: f.int('max_position_embeddings'),
    // Qwen2's attention always has q/k/v biases (hard-coded in transformers' Qwen2Attention).
    attentionBias: arch === 'qwen2' ? true : f.bool('attention_bias'),
    tieWordEmbeddings: tie,
    hiddenAct: f.str('hidden_act'),
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: eosList as number[],
    padTokenId: f.optInt('pad_token_id'),
  };
}

function parseVision(top: Fields): VisionConfig {
  const given = top.has('vision_config') ? top.object('vision_config').obj : LLAVA_DEFAULT_VISION;
  const arch = pickArch(new Fields(given, 'vision_config', top.file), VISION_MODEL_TYPES, 'vision tower');
  const f = new Fields(given, 'vision_config', top.file, VISION_DEFAULTS[arch]);

  const featureLayer = top.raw('vision_feature_layer') ?? -2;
  if (typeof featureLayer !== 'number' || !Number.isInteger(featureLayer)) {
    throw new ConvertError('unsupported', top.file, `unsupported vision_feature_layer ${JSON.stringify(featureLayer)} (supported: one integer layer index)`);
  }
  const numLayers = f.int('num_hidden_layers');
  if (featureLayer < -(numLayers + 1) || featureLayer > numLayers) {
    throw top.bad('vision_feature_layer', `an index into ${numLayers + 1} hidden states`, featureLayer);
  }
  const strategy = top.raw('vision_feature_select_strategy') ?? 'default';
  if (strategy !== 'default' && strategy !== 'full') {
    throw new ConvertError('unsupported', top.file, `unsupported vision_feature_select_strategy ${JSON.stringify(strategy)} (supported: default, full)`);
  }
  const imageSize = f.int('image_size');
  const patchSize = f.int('patch_size');
  if (patchSize > imageSize) throw f.bad('patch_size', `at most image_size (${imageSize})`, patchSize);
  return {
    arch,
    hiddenSize: f.int('hidden_size'),
    numLayers,
    numHeads: f.int('num_attention_heads'),
    intermediateSize: f.int('intermediate_size'),
    imageSize,
    patchSize,
    numChannels: f.int('num_channels'),
    layerNormEps: f.num('layer_norm_eps'),
    hiddenAct: f.str('hidden_act'),
    featureLayer,
    selectStrategy: strategy,
  };
}

/** Visual tokens LLaVA splices per image: a conv grid of floor(image/patch)², plus CLS unless dropped. */
export function visualTokenCount(vision: VisionConfig): number {
  const grid = Math.floor(vision.imageSize / vision.patchSize);
  const cls = vision.arch === 'clip' && vision.selectStrategy === 'full' ? 1 : 0;
  return grid * grid + cls;
}

/**
 * Parses a LLaVA config.json (either generation). `imageToken` is the string of the image
 * token id, which config.json does not hold: checkpoint.ts finds it in tokenizer.json.
 */
export function parseLlavaConfig(json: unknown, imageToken = '<image>', file = 'config.json'): LlavaConfig {
  if (!isObject(json)) throw new ConvertError('bad-json', file, 'expected a JSON object');
  const top = new Fields(json, '', file, {
    image_token_index: 32000, projector_hidden_act: 'gelu', multimodal_projector_bias: true,
  });
  pickArch(top, { llava: 'llava' }, 'model');

  const text = parseText(top);
  const vision = parseVision(top);
  const imageTokenId = top.has('image_token_id') ? top.int('image_token_id', 0) : top.int('image_token_index', 0);
  const imageSeqLength = visualTokenCount(vision);
  if (top.has('image_seq_length') && top.int('image_seq_length') !== imageSeqLength) {
    throw top.bad('image_seq_length', `${imageSeqLength} for a ${vision.imageSize}px image with patch ${vision.patchSize} (${vision.selectStrategy})`, top.raw('image_seq_length'));
  }
  if (imageTokenId >= text.vocabSize) throw top.bad('image_token_index', `below text_config.vocab_size (${text.vocabSize})`, imageTokenId);
  return Object.freeze({
    text: Object.freeze(text),
    vision: Object.freeze(vision),
    projector: Object.freeze({ hiddenAct: top.str('projector_hidden_act'), bias: top.bool('multimodal_projector_bias') }),
    imageTokenId,
    imageToken,
    imageSeqLength,
  });
}
