/**
 * The declarative tensor tables (after llama.cpp's conversion package): canonical name pattern
 * with `{layer}` → expected shape from the config → when present. The checkpoint is checked
 * against them before anything is converted (../checkpoint/keys.ts), so a wrong default or a
 * missing tensor fails with the file and the name; synthetic checkpoints are generated from them.
 */
import type { TensorRow, VisionEmbeddings } from './architecture';
import type { LlavaConfig } from './llavaConfig';

const qDim = (config: LlavaConfig) => config.text.numHeads * config.text.headDim;
const kvDim = (config: LlavaConfig) => config.text.numKvHeads * config.text.headDim;
const hasAttentionBias = (config: LlavaConfig) => config.text.attentionBias;

/**
 * LLaMA's decoder, as LLaMA, Mistral and Qwen2 store it: q/k/v biases when the config's
 * attentionBias says so; `oProjBias`: the same flag also puts one on o_proj (LLaMA's
 * `attention_bias`; Qwen2's never does).
 */
export function decoderTensors({ oProjBias }: { oProjBias: boolean }): TensorRow[] {
  const rows: TensorRow[] = [
    { pattern: 'text.embed_tokens.weight', shape: (c) => [c.text.vocabSize, c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.input_layernorm.weight', shape: (c) => [c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.self_attn.q_proj.weight', shape: (c) => [qDim(c), c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.self_attn.k_proj.weight', shape: (c) => [kvDim(c), c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.self_attn.v_proj.weight', shape: (c) => [kvDim(c), c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.self_attn.q_proj.bias', shape: (c) => [qDim(c)], when: hasAttentionBias },
    { pattern: 'text.layers.{layer}.self_attn.k_proj.bias', shape: (c) => [kvDim(c)], when: hasAttentionBias },
    { pattern: 'text.layers.{layer}.self_attn.v_proj.bias', shape: (c) => [kvDim(c)], when: hasAttentionBias },
    { pattern: 'text.layers.{layer}.self_attn.o_proj.weight', shape: (c) => [c.text.hiddenSize, qDim(c)] },
  ];
  if (oProjBias) {
    rows.push({
      pattern: 'text.layers.{layer}.self_attn.o_proj.bias',
      shape: (c) => [c.text.hiddenSize],
      when: hasAttentionBias,
    });
  }
  const mlp = (c: LlavaConfig) => [c.text.intermediateSize, c.text.hiddenSize];
  rows.push(
    { pattern: 'text.layers.{layer}.post_attention_layernorm.weight', shape: (c) => [c.text.hiddenSize] },
    { pattern: 'text.layers.{layer}.mlp.gate_proj.weight', shape: mlp },
    { pattern: 'text.layers.{layer}.mlp.up_proj.weight', shape: mlp },
    { pattern: 'text.layers.{layer}.mlp.down_proj.weight', shape: (c) => [c.text.hiddenSize, c.text.intermediateSize] },
    { pattern: 'text.norm.weight', shape: (c) => [c.text.hiddenSize] },
    {
      pattern: 'lm_head.weight',
      shape: (c) => [c.text.vocabSize, c.text.hiddenSize],
      when: (c) => !c.text.tieWordEmbeddings,
    },
  );
  return rows;
}

const grid = (config: LlavaConfig) => Math.floor(config.vision.imageSize / config.vision.patchSize);
const vecV = (config: LlavaConfig) => [config.vision.hiddenSize];

/** The pre-norm ViT tower CLIP and SigLIP share, its embeddings as `embeddings` says. */
export function vitTensors(embeddings: VisionEmbeddings): TensorRow[] {
  const rows: TensorRow[] = [];
  if (embeddings.classToken) rows.push({ pattern: 'vision.embeddings.class_embedding', shape: vecV });
  rows.push({
    pattern: 'vision.embeddings.patch_embedding.weight',
    shape: (c) => [c.vision.hiddenSize, c.vision.numChannels, c.vision.patchSize, c.vision.patchSize],
  });
  if (embeddings.patchBias) rows.push({ pattern: 'vision.embeddings.patch_embedding.bias', shape: vecV });
  rows.push({
    pattern: 'vision.embeddings.position_embedding.weight',
    shape: (c) => [grid(c) ** 2 + (embeddings.classToken ? 1 : 0), c.vision.hiddenSize],
  });
  if (embeddings.preNorm) {
    rows.push(
      { pattern: 'vision.pre_layrnorm.weight', shape: vecV },
      { pattern: 'vision.pre_layrnorm.bias', shape: vecV },
    );
  }
  rows.push(
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
  );
  return rows;
}

/** LLaVA's two-layer projector (every LLaVA, whatever the tower and decoder). */
export const PROJECTOR_TENSORS: readonly TensorRow[] = [
  { pattern: 'projector.linear_1.weight', shape: (c) => [c.text.hiddenSize, c.projector.inputSize] }, // Dv × feature layers
  { pattern: 'projector.linear_1.bias', shape: (c) => [c.text.hiddenSize], when: (c) => c.projector.bias },
  { pattern: 'projector.linear_2.weight', shape: (c) => [c.text.hiddenSize, c.text.hiddenSize] },
  { pattern: 'projector.linear_2.bias', shape: (c) => [c.text.hiddenSize], when: (c) => c.projector.bias },
];

/** Adds each present row of `rows` to `out` (name → shape), `{layer}` rows once per layer. */
export function expandTensors(
  rows: readonly TensorRow[],
  config: LlavaConfig,
  numLayers: number,
  out: Map<string, number[]>,
): void {
  for (const row of rows) {
    if (row.when && !row.when(config)) continue;
    const shape = row.shape(config);
    if (row.pattern.includes('{layer}')) {
      for (let i = 0; i < numLayers; i++) out.set(row.pattern.replace('{layer}', String(i)), shape);
    } else {
      out.set(row.pattern, shape);
    }
  }
}
