/**
 * Tensor names as declarative tables (after llama.cpp's conversion package):
 *  1. KEY_LAYOUTS: canonical prefix ← the Hugging Face prefixes it comes under, in both key
 *     layouts (legacy `language_model.model.*`, which transformers 5.17 save_pretrained still
 *     writes, and the in-memory `model.language_model.*`), with or without `vision_model.`.
 *  2. TEXT_TENSORS / VISION_TENSORS / PROJECTOR_TENSORS: role → canonical pattern with `{layer}`
 *     → expected shape from the config. The checkpoint is checked against these before anything
 *     is converted, so a wrong default or a missing tensor fails with the file and the name.
 */
import type { LlavaConfig } from './config';

interface PrefixRule {
  canonical: string;
  /** Source prefixes, most specific first (first match wins). */
  sources: string[];
}

export const KEY_LAYOUTS: readonly PrefixRule[] = [
  { canonical: 'text.', sources: ['language_model.model.', 'model.language_model.'] },
  { canonical: 'lm_head.', sources: ['language_model.lm_head.', 'lm_head.'] },
  {
    canonical: 'vision.',
    sources: ['vision_tower.vision_model.', 'model.vision_tower.vision_model.', 'vision_tower.', 'model.vision_tower.'],
  },
  { canonical: 'projector.', sources: ['multi_modal_projector.', 'model.multi_modal_projector.'] },
];

/** Hugging Face key → canonical name, or null when no layout rule matches. */
export function canonicalName(sourceKey: string): string | null {
  for (const rule of KEY_LAYOUTS) {
    for (const prefix of rule.sources) {
      if (sourceKey.startsWith(prefix)) return rule.canonical + sourceKey.slice(prefix.length);
    }
  }
  return null;
}

/**
 * Tensors a checkpoint may carry that no graph reads: rotary caches and position-id buffers of
 * older transformers, and SigLIP's pooling head (LLaVA takes hidden states, not the pooled output).
 */
const IGNORED: readonly RegExp[] = [/\.rotary_emb\.inv_freq$/, /^vision\.embeddings\.position_ids$/, /^vision\.head\./];

export function isIgnoredTensor(canonical: string): boolean {
  return IGNORED.some((re) => re.test(canonical));
}

type ShapeOf = (c: LlavaConfig) => number[];
interface TensorRole {
  pattern: string;
  shape: ShapeOf;
  /** Present only when this holds (e.g. biases). */
  when?: (c: LlavaConfig) => boolean;
}

// Linear weights are [out, in] as torch stores them.
const TEXT_TENSORS: readonly TensorRole[] = [
  { pattern: 'text.embed_tokens.weight', shape: (c) => [c.text.vocabSize, c.text.hiddenSize] },
  { pattern: 'text.layers.{layer}.input_layernorm.weight', shape: (c) => [c.text.hiddenSize] },
  {
    pattern: 'text.layers.{layer}.self_attn.q_proj.weight',
    shape: (c) => [c.text.numHeads * c.text.headDim, c.text.hiddenSize],
  },
  {
    pattern: 'text.layers.{layer}.self_attn.k_proj.weight',
    shape: (c) => [c.text.numKvHeads * c.text.headDim, c.text.hiddenSize],
  },
  {
    pattern: 'text.layers.{layer}.self_attn.v_proj.weight',
    shape: (c) => [c.text.numKvHeads * c.text.headDim, c.text.hiddenSize],
  },
  {
    pattern: 'text.layers.{layer}.self_attn.q_proj.bias',
    shape: (c) => [c.text.numHeads * c.text.headDim],
    when: (c) => c.text.attentionBias,
  },
  {
    pattern: 'text.layers.{layer}.self_attn.k_proj.bias',
    shape: (c) => [c.text.numKvHeads * c.text.headDim],
    when: (c) => c.text.attentionBias,
  },
  {
    pattern: 'text.layers.{layer}.self_attn.v_proj.bias',
    shape: (c) => [c.text.numKvHeads * c.text.headDim],
    when: (c) => c.text.attentionBias,
  },
  {
    pattern: 'text.layers.{layer}.self_attn.o_proj.weight',
    shape: (c) => [c.text.hiddenSize, c.text.numHeads * c.text.headDim],
  },
  // LLaMA's attention_bias also puts a bias on o_proj; Qwen2's does not.
  {
    pattern: 'text.layers.{layer}.self_attn.o_proj.bias',
    shape: (c) => [c.text.hiddenSize],
    when: (c) => c.text.arch === 'llama' && c.text.attentionBias,
  },
  { pattern: 'text.layers.{layer}.post_attention_layernorm.weight', shape: (c) => [c.text.hiddenSize] },
  { pattern: 'text.layers.{layer}.mlp.gate_proj.weight', shape: (c) => [c.text.intermediateSize, c.text.hiddenSize] },
  { pattern: 'text.layers.{layer}.mlp.up_proj.weight', shape: (c) => [c.text.intermediateSize, c.text.hiddenSize] },
  { pattern: 'text.layers.{layer}.mlp.down_proj.weight', shape: (c) => [c.text.hiddenSize, c.text.intermediateSize] },
  { pattern: 'text.norm.weight', shape: (c) => [c.text.hiddenSize] },
  {
    pattern: 'lm_head.weight',
    shape: (c) => [c.text.vocabSize, c.text.hiddenSize],
    when: (c) => !c.text.tieWordEmbeddings,
  },
];

const grid = (c: LlavaConfig) => Math.floor(c.vision.imageSize / c.vision.patchSize);
const isClip = (c: LlavaConfig) => c.vision.arch === 'clip';
const vecV = (c: LlavaConfig) => [c.vision.hiddenSize];

const VISION_TENSORS: readonly TensorRole[] = [
  { pattern: 'vision.embeddings.class_embedding', shape: vecV, when: isClip },
  {
    pattern: 'vision.embeddings.patch_embedding.weight',
    shape: (c) => [c.vision.hiddenSize, c.vision.numChannels, c.vision.patchSize, c.vision.patchSize],
  },
  { pattern: 'vision.embeddings.patch_embedding.bias', shape: vecV, when: (c) => !isClip(c) },
  // CLIP has a CLS position; SigLIP does not.
  {
    pattern: 'vision.embeddings.position_embedding.weight',
    shape: (c) => [grid(c) ** 2 + (isClip(c) ? 1 : 0), c.vision.hiddenSize],
  },
  { pattern: 'vision.pre_layrnorm.weight', shape: vecV, when: isClip },
  { pattern: 'vision.pre_layrnorm.bias', shape: vecV, when: isClip },
  ...['layer_norm1', 'layer_norm2'].flatMap((n) => [
    { pattern: `vision.encoder.layers.{layer}.${n}.weight`, shape: vecV },
    { pattern: `vision.encoder.layers.{layer}.${n}.bias`, shape: vecV },
  ]),
  ...['q_proj', 'k_proj', 'v_proj', 'out_proj'].flatMap((n) => [
    {
      pattern: `vision.encoder.layers.{layer}.self_attn.${n}.weight`,
      shape: (c: LlavaConfig) => [c.vision.hiddenSize, c.vision.hiddenSize],
    },
    { pattern: `vision.encoder.layers.{layer}.self_attn.${n}.bias`, shape: vecV },
  ]),
  {
    pattern: 'vision.encoder.layers.{layer}.mlp.fc1.weight',
    shape: (c) => [c.vision.intermediateSize, c.vision.hiddenSize],
  },
  { pattern: 'vision.encoder.layers.{layer}.mlp.fc1.bias', shape: (c) => [c.vision.intermediateSize] },
  {
    pattern: 'vision.encoder.layers.{layer}.mlp.fc2.weight',
    shape: (c) => [c.vision.hiddenSize, c.vision.intermediateSize],
  },
  { pattern: 'vision.encoder.layers.{layer}.mlp.fc2.bias', shape: vecV },
  { pattern: 'vision.post_layernorm.weight', shape: vecV },
  { pattern: 'vision.post_layernorm.bias', shape: vecV },
];

const PROJECTOR_TENSORS: readonly TensorRole[] = [
  { pattern: 'projector.linear_1.weight', shape: (c) => [c.text.hiddenSize, c.projector.inputSize] }, // Dv × feature layers
  { pattern: 'projector.linear_1.bias', shape: (c) => [c.text.hiddenSize], when: (c) => c.projector.bias },
  { pattern: 'projector.linear_2.weight', shape: (c) => [c.text.hiddenSize, c.text.hiddenSize] },
  { pattern: 'projector.linear_2.bias', shape: (c) => [c.text.hiddenSize], when: (c) => c.projector.bias },
];

function expand(
  roles: readonly TensorRole[],
  config: LlavaConfig,
  numLayers: number,
  out: Map<string, number[]>,
): void {
  for (const role of roles) {
    if (role.when && !role.when(config)) continue;
    const shape = role.shape(config);
    if (role.pattern.includes('{layer}')) {
      for (let i = 0; i < numLayers; i++) out.set(role.pattern.replace('{layer}', String(i)), shape);
    } else {
      out.set(role.pattern, shape);
    }
  }
}

/** Every canonical tensor the config implies, with its shape: the checkpoint must hold exactly these. */
export function expectedTensors(config: LlavaConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  expand(TEXT_TENSORS, config, config.text.numLayers, out);
  expand(VISION_TENSORS, config, config.vision.numLayers, out);
  expand(PROJECTOR_TENSORS, config, 0, out);
  return out;
}
