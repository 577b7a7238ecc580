/**
 * The normalised LLaVA config: one frozen shape for both file generations (llava-hf repos and
 * transformers-5 `save_pretrained`), read by the graph builders and written into the manifest.
 *
 * Every field is decided as transformers 5.17's LlavaForConditionalGeneration decides it
 * (checked on the library itself: fixtures/probe_llava_semantics.py), and every row it accepts
 * but our graphs cannot run is refused with the field and the reason (docs/CHECKPOINTS.md).
 *
 * Where a key is absent we apply the default of the transformers config class, exactly as
 * transformers does when it loads the file: the hub's llava-hf configs are diff-only (e.g.
 * llava-1.5-7b-hf's text_config has no hidden_size; LlamaConfig's default 4096 applies).
 * A default that does not fit the weights is caught later by the shape check in checkpoint.ts.
 * Keys that choose the architecture have no default: missing → ConvertError('missing-key').
 */
import { ConvertError } from '../../common/errors';

/** 'mistral' (BakLLaVA): LLaMA's layer without biases, plus a sliding attention window. */
export type TextArch = 'llama' | 'qwen2' | 'mistral';
export type VisionArch = 'clip' | 'siglip';
export const TEXT_ARCHS: readonly TextArch[] = ['llama', 'qwen2', 'mistral'];
export const VISION_ARCHS: readonly VisionArch[] = ['clip', 'siglip'];

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
  /** q/k/v projections carry biases (always for Qwen2; `attention_bias` for LLaMA). o_proj never does. */
  attentionBias: boolean;
  /** lm_head shares embed_tokens: the checkpoint then has no canonical `lm_head.weight`. */
  tieWordEmbeddings: boolean;
  hiddenAct: string; // 'silu' for both supported decoders
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

export interface LlavaConfig {
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

type Json = Record<string, unknown>;

// Defaults of transformers' LlamaConfig / Qwen2Config / CLIPVisionConfig / SiglipVisionConfig /
// LlavaConfig (the values their __init__ signatures carry).
const TEXT_DEFAULTS: Record<TextArch, Json> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    hidden_act: 'silu',
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    attention_bias: false,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: null,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    bos_token_id: null,
    eos_token_id: null,
    pad_token_id: null,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: 28,
  },
  mistral: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    hidden_act: 'silu',
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    sliding_window: 4096,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: null,
  },
};
const VISION_DEFAULTS: Record<VisionArch, Json> = {
  clip: {
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
  siglip: {
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
};
// LlavaConfig fills an absent vision_config with CLIP ViT-L/336 (LLaVA-1.5's tower).
const LLAVA_DEFAULT_VISION: Json = {
  model_type: 'clip_vision_model',
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  image_size: 336,
  patch_size: 14,
};

const TEXT_MODEL_TYPES: Record<string, TextArch> = { llama: 'llama', qwen2: 'qwen2', mistral: 'mistral' };

/** Activations our graphs have as fused nodes (arch/common.ts `activation`). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = ['silu', 'quick_gelu', 'gelu', 'gelu_pytorch_tanh'];
const VISION_MODEL_TYPES: Record<string, VisionArch> = {
  clip_vision_model: 'clip',
  clip: 'clip',
  siglip_vision_model: 'siglip',
  siglip: 'siglip',
};

/** Reads fields of one config object, naming `file` and the dotted key path in every error. */
class Fields {
  constructor(
    readonly obj: Json,
    readonly path: string,
    readonly file: string,
    readonly defaults: Json = {},
  ) {}

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
  /** A value transformers accepts but our graphs cannot run: the field, its value and why. */
  unsupported(name: string, got: unknown, why: string): ConvertError {
    return new ConvertError('unsupported', this.file, `unsupported "${this.key(name)}" ${JSON.stringify(got)}: ${why}`);
  }
  /** An activation name our graphs have (SUPPORTED_ACTIVATIONS), or 'unsupported' naming the field. */
  activation(name: string, where: string): string {
    const value = this.str(name);
    if (!SUPPORTED_ACTIVATIONS.includes(value)) {
      throw this.unsupported(
        name,
        value,
        `the ${where} has no such activation (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`,
      );
    }
    return value;
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
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw this.bad(name, 'a positive number', value);
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
      'unsupported',
      f.file,
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
  const numLayers = f.int('num_hidden_layers');
  const numHeads = f.int('num_attention_heads');
  // null (or absent without a class default) means "as many as the query heads", as in transformers.
  const numKvHeads = f.raw('num_key_value_heads') != null ? f.int('num_key_value_heads') : numHeads;
  if (numHeads % numKvHeads !== 0)
    throw f.bad('num_key_value_heads', `a divisor of num_attention_heads (${numHeads})`, numKvHeads);
  const headDim = f.raw('head_dim') != null ? f.int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim))
    throw f.bad('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`, numHeads);
  if (headDim % 2 !== 0) throw f.bad('head_dim', 'even (rotary embedding rotates pairs)', headDim);

  const eos = f.raw('eos_token_id');
  const eosList = eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosList.every((id) => typeof id === 'number' && Number.isInteger(id)))
    throw f.bad('eos_token_id', 'a token id or a list of them', eos);

  // The SwiGLU MLP's gate activation is built as silu (arch/llama.ts).
  const hiddenAct = f.str('hidden_act');
  if (hiddenAct !== 'silu')
    throw f.unsupported('hidden_act', hiddenAct, 'the decoder layer graph is SwiGLU with silu (supported: silu)');
  // LLaMA's optional biases: transformers adds them to o_proj / gate/up/down, our layer graph has none there.
  if (arch === 'llama') {
    if (f.has('mlp_bias') && f.bool('mlp_bias'))
      throw f.unsupported('mlp_bias', true, 'the decoder layer graph has no MLP biases (supported: false)');
  }

  return {
    arch,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: f.int('intermediate_size'),
    vocabSize: f.int('vocab_size'),
    ropeTheta: parseRope(f),
    rmsNormEps: f.num('rms_norm_eps'),
    maxPositions: f.int('max_position_embeddings'),
    slidingWindow: parseSlidingWindow(f, arch, numLayers),
    attentionBias: attentionBias(f, arch),
    tieWordEmbeddings: tiedEmbeddings(top, f),
    hiddenAct,
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: eosList as number[],
    padTokenId: f.optInt('pad_token_id'),
  };
}

/**
 * q/k/v biases: Qwen2 always has them and Mistral never (both hard-coded in transformers'
 * attention, whatever `attention_bias` says); LLaMA's `attention_bias` puts one on o_proj too,
 * which our layer graph does not add, so it is refused.
 */
function attentionBias(f: Fields, arch: TextArch): boolean {
  if (arch === 'qwen2') return true;
  if (arch === 'mistral') return false;
  const bias = f.bool('attention_bias');
  if (bias)
    throw f.unsupported(
      'attention_bias',
      true,
      'LLaMA then has an o_proj bias, which the decoder layer graph does not add (supported: false)',
    );
  return bias;
}

/**
 * Tied lm_head: LlavaConfig sets its own tie_word_embeddings (default false) to text_config's
 * when its own is false, and the model ties when the top-level one is true — so either being
 * true ties (probe: "text false, top true" ties too).
 */
function tiedEmbeddings(top: Fields, text: Fields): boolean {
  const topTie = top.raw('tie_word_embeddings');
  if (topTie !== undefined && typeof topTie !== 'boolean')
    throw top.bad('tie_word_embeddings', 'true or false', topTie);
  return topTie === true || text.bool('tie_word_embeddings');
}

/**
 * rope_theta, from transformers 5's rope_parameters or the hub's older flat rope_theta and
 * rope_scaling (which transformers folds into rope_parameters). Only rope_type "default" is
 * built: linear / dynamic / yarn / llama3 / longrope rescale the frequencies (or per length).
 */
function parseRope(f: Fields): number {
  const key =
    f.raw('rope_parameters') != null ? 'rope_parameters' : f.raw('rope_scaling') != null ? 'rope_scaling' : null;
  if (key === null) return f.num('rope_theta');
  const params = f.raw(key);
  if (!isObject(params)) throw f.bad(key, 'an object', params);
  const rp = new Fields(params, `text_config.${key}`, f.file);
  const ropeType = rp.raw('rope_type') ?? rp.raw('type') ?? 'default';
  if (ropeType !== 'default') {
    throw rp.unsupported(
      rp.has('rope_type') ? 'rope_type' : 'type',
      ropeType,
      'the rotary tables are built for rope_type "default" only (scaled variants change the frequencies)',
    );
  }
  const partial = rp.raw('partial_rotary_factor') ?? f.raw('partial_rotary_factor');
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw rp.unsupported('partial_rotary_factor', partial, 'the rotary embedding turns the whole head (supported: 1)');
  }
  return rp.has('rope_theta') ? rp.num('rope_theta') : f.num('rope_theta');
}

/**
 * The attention window transformers applies, or null. Mistral: `sliding_window` on every layer
 * (null: none). Qwen2: layers marked "sliding_attention" in `layer_types` (transformers 5
 * writes it; older files: `use_sliding_window` with layers ≥ `max_window_layers`). LLaMA: none.
 */
function parseSlidingWindow(f: Fields, arch: TextArch, numLayers: number): number | null {
  if (arch === 'llama') return null;
  let slides: boolean;
  const layerTypes = f.raw('layer_types');
  if (layerTypes !== undefined && layerTypes !== null) {
    if (
      !Array.isArray(layerTypes) ||
      layerTypes.length !== numLayers ||
      !layerTypes.every((t) => t === 'full_attention' || t === 'sliding_attention')
    ) {
      throw f.bad('layer_types', `a list of ${numLayers} "full_attention" / "sliding_attention"`, layerTypes);
    }
    slides = layerTypes.includes('sliding_attention');
  } else if (arch === 'qwen2') {
    slides = f.bool('use_sliding_window') && f.int('max_window_layers', 0) < numLayers;
  } else {
    slides = true;
  }
  if (!slides || f.raw('sliding_window') == null) return null;
  return f.int('sliding_window');
}

function parseVision(top: Fields): VisionConfig {
  const given = top.has('vision_config') ? top.object('vision_config').obj : LLAVA_DEFAULT_VISION;
  const arch = pickArch(new Fields(given, 'vision_config', top.file), VISION_MODEL_TYPES, 'vision tower');
  const f = new Fields(given, 'vision_config', top.file, VISION_DEFAULTS[arch]);

  const numLayers = f.int('num_hidden_layers');
  const featureLayer = top.raw('vision_feature_layer') ?? -2;
  const featureLayers = typeof featureLayer === 'number' ? [featureLayer] : featureLayer;
  if (
    !Array.isArray(featureLayers) ||
    featureLayers.length === 0 ||
    !featureLayers.every((l) => typeof l === 'number' && Number.isInteger(l))
  ) {
    throw top.bad('vision_feature_layer', 'an integer or a non-empty list of integers', featureLayer);
  }
  for (const layer of featureLayers as number[]) {
    // transformers indexes hidden_states (numLayers + 1 entries) and fails with an IndexError past them.
    if (layer < -(numLayers + 1) || layer > numLayers) {
      throw top.bad(
        'vision_feature_layer',
        `indices into the ${numLayers + 1} hidden states of a ${numLayers}-layer tower (−${numLayers + 1}…${numLayers})`,
        featureLayer,
      );
    }
  }
  const strategy = top.raw('vision_feature_select_strategy') ?? 'default';
  if (strategy !== 'default' && strategy !== 'full') {
    // LlavaConfig refuses any other value too.
    throw top.bad('vision_feature_select_strategy', '"default" or "full" (as LlavaConfig requires)', strategy);
  }
  const imageSize = f.int('image_size');
  const patchSize = f.int('patch_size');
  if (patchSize > imageSize) throw f.bad('patch_size', `at most image_size (${imageSize})`, patchSize);
  // Not necessarily a multiple: the patch Conv (stride = kernel) drops the remainder, e.g.
  // SigLIP-so400m's 384 px / 14 → a 27×27 grid with 6 px unused.
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
    hiddenAct: f.activation('hidden_act', 'vision encoder graph'),
    featureLayer: Array.isArray(featureLayer) ? [...(featureLayers as number[])] : (featureLayer as number),
    featureLayers: [...(featureLayers as number[])],
    selectStrategy: strategy,
  };
}

/**
 * Visual tokens LLaVA splices per image, as the model yields them: a conv grid of
 * floor(image/patch)², plus CLIP's CLS, minus one for "default" (transformers drops the first
 * token, CLS or — for a tower without one — the first patch).
 */
export function visualTokenCount(
  vision: Pick<VisionConfig, 'arch' | 'imageSize' | 'patchSize' | 'selectStrategy'>,
): number {
  const grid = Math.floor(vision.imageSize / vision.patchSize);
  return grid * grid + (vision.arch === 'clip' ? 1 : 0) - (vision.selectStrategy === 'default' ? 1 : 0);
}

/**
 * Parses a LLaVA config.json (either generation). `imageToken` is the string of the image
 * token id, which config.json does not hold: checkpoint.ts finds it in tokenizer.json.
 */
export function parseLlavaConfig(json: unknown, imageToken = '<image>', file = 'config.json'): LlavaConfig {
  if (!isObject(json)) throw new ConvertError('bad-json', file, 'expected a JSON object');
  const top = new Fields(json, '', file, {
    image_token_index: 32000,
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
  });
  pickArch(top, { llava: 'llava' }, 'model');

  const text = parseText(top);
  const vision = parseVision(top);
  const imageTokenId = top.has('image_token_id') ? top.int('image_token_id', 0) : top.int('image_token_index', 0);
  // image_seq_length (LlavaConfig's default 576 is saved whatever the tower) is not read: the
  // processor derives the count from image size, patch size and strategy, and the model checks
  // the features against the image tokens, not against this field.
  const imageSeqLength = visualTokenCount(vision);
  if (imageSeqLength < 1)
    throw top.bad(
      'vision_feature_select_strategy',
      `"full" for a tower of ${imageSeqLength + 1} token`,
      vision.selectStrategy,
    );
  if (imageTokenId >= text.vocabSize)
    throw top.bad('image_token_index', `below text_config.vocab_size (${text.vocabSize})`, imageTokenId);
  return Object.freeze({
    text: Object.freeze(text),
    vision: Object.freeze(vision),
    projector: Object.freeze({
      hiddenAct: top.activation('projector_hidden_act', 'projector graph'),
      bias: top.bool('multimodal_projector_bias'),
      inputSize: vision.hiddenSize * vision.featureLayers.length,
    }),
    imageTokenId,
    imageToken,
    imageSeqLength,
  });
}
