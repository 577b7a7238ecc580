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
 * What differs by architecture (class defaults, biases, attention window, refused rows) is read
 * from its registry entry (../architectures/registry.ts); this file reads what LLaVA shares.
 */
import { ConvertError } from '../../common/errors';
import { ConfigFields, isObject } from '../architectures/configFields';
import type { LlavaConfig, TextConfig, VisionConfig } from '../architectures/llavaConfig';
import { FAMILY_MODEL_TYPES, TEXT_MODEL_TYPES, VISION_MODEL_TYPES, visualTokenCount } from '../architectures/registry';
import type { FamilyArchitecture } from '../architectures/family';

export type {
  LlavaConfig,
  ProjectorConfig,
  TextArch,
  TextConfig,
  VisionArch,
  VisionConfig,
} from '../architectures/llavaConfig';
export { isObject } from '../architectures/configFields';

/** The registry entry `model_type` names, or 'unsupported' listing the names there are. */
function pickArch<Entry>(fields: ConfigFields, table: Readonly<Record<string, Entry>>, what: string): Entry {
  const modelType = fields.str('model_type');
  const entry = table[modelType];
  if (!entry) {
    throw new ConvertError(
      'unsupported',
      fields.file,
      `unsupported ${what} "${modelType}" in "${fields.path ? fields.path + '.' : ''}model_type" (supported: ${Object.keys(table).join(', ')})`,
    );
  }
  return entry;
}

function parseText(top: ConfigFields): TextConfig {
  // LlavaConfig fills an absent text_config with LlamaConfig defaults.
  const given = top.has('text_config') ? top.object('text_config').obj : { model_type: 'llama' };
  const probe = new ConfigFields(given, 'text_config', top.file);
  const architecture = pickArch(probe, TEXT_MODEL_TYPES, 'text model');
  const f = new ConfigFields(given, 'text_config', top.file, architecture.defaults);

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
  architecture.refuseUnsupported(f);

  return {
    arch: architecture.name,
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
    slidingWindow: architecture.slidingWindow(f, numLayers),
    attentionBias: architecture.attentionBias(f),
    tieWordEmbeddings: tiedEmbeddings(top, f),
    hiddenAct,
    bosTokenId: f.optInt('bos_token_id'),
    eosTokenIds: eosList as number[],
    padTokenId: f.optInt('pad_token_id'),
  };
}

/**
 * Tied lm_head: LlavaConfig sets its own tie_word_embeddings (default false) to text_config's
 * when its own is false, and the model ties when the top-level one is true — so either being
 * true ties (probe: "text false, top true" ties too).
 */
function tiedEmbeddings(top: ConfigFields, text: ConfigFields): boolean {
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
function parseRope(text: ConfigFields): number {
  const key =
    text.raw('rope_parameters') != null ? 'rope_parameters' : text.raw('rope_scaling') != null ? 'rope_scaling' : null;
  if (key === null) return text.num('rope_theta');
  const params = text.raw(key);
  if (!isObject(params)) throw text.bad(key, 'an object', params);
  const rp = new ConfigFields(params, `text_config.${key}`, text.file);
  const ropeType = rp.raw('rope_type') ?? rp.raw('type') ?? 'default';
  if (ropeType !== 'default') {
    throw rp.unsupported(
      rp.has('rope_type') ? 'rope_type' : 'type',
      ropeType,
      'the rotary tables are built for rope_type "default" only (scaled variants change the frequencies)',
    );
  }
  const partial = rp.raw('partial_rotary_factor') ?? text.raw('partial_rotary_factor');
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw rp.unsupported('partial_rotary_factor', partial, 'the rotary embedding turns the whole head (supported: 1)');
  }
  return rp.has('rope_theta') ? rp.num('rope_theta') : text.num('rope_theta');
}

function parseVision(top: ConfigFields, family: FamilyArchitecture): VisionConfig {
  const given = top.has('vision_config') ? top.object('vision_config').obj : family.defaultVision;
  const architecture = pickArch(new ConfigFields(given, 'vision_config', top.file), VISION_MODEL_TYPES, 'vision tower');
  const f = new ConfigFields(given, 'vision_config', top.file, architecture.defaults);

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
    arch: architecture.name,
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
 * Parses a LLaVA config.json (either generation). `imageToken` is the string of the image
 * token id, which config.json does not hold: checkpoint.ts finds it in tokenizer.json.
 */
export function parseLlavaConfig(
  json: unknown,
  imageToken = '<image>',
  file = 'config.json',
  /** The video token's string (tokenizer.json), for a family with a video path. */
  videoToken = '<video>',
): LlavaConfig {
  if (!isObject(json)) throw new ConvertError('bad-json', file, 'expected a JSON object');
  const family = pickArch(new ConfigFields(json, '', file), FAMILY_MODEL_TYPES, 'model');
  const top = new ConfigFields(json, '', file, family.defaults);

  const text = parseText(top);
  const vision = parseVision(top, family);
  const video = family.video(top, vision, text.vocabSize);
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
    ...(family.name !== 'llava'
      ? { family: family.name, video: video && Object.freeze({ ...video, token: videoToken }) }
      : {}),
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
