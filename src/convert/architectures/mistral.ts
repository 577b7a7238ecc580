/**
 * Mistral (BakLLaVA): LLaMA's layer without biases, plus a sliding attention window on every
 * layer (a context cap on the package: package/manifest maxPositions).
 */
import type { TextArchitecture } from './architecture';
import { slidingWindowOf } from './configFields';
import { decoderTensors } from './tensorTables';

export const MISTRAL: TextArchitecture<'mistral'> = {
  name: 'mistral',
  modelTypes: ['mistral'],
  // transformers' MistralConfig.
  defaults: {
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
  // Hard-coded in transformers' attention, whatever `attention_bias` says.
  attentionBias: () => false,
  slidingWindow: (text, numLayers) => slidingWindowOf(text, numLayers, () => true),
  refuseUnsupported: () => {},
  tensors: decoderTensors({ oProjBias: false }),
  syntheticConfig: (d) => ({
    model_type: 'mistral',
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    num_key_value_heads: d.kvHeads,
    head_dim: d.hidden / d.heads,
    intermediate_size: d.mlp,
    vocab_size: d.vocab,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    sliding_window: 4096,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
    rope_parameters: { rope_theta: 10000, rope_type: 'default' },
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 3,
  }),
};
