/** Qwen2 (LLaVA-Interleave-Qwen, LLaVA-OneVision): LLaMA's layer with biases on q/k/v (never on o_proj). */
import type { TextArchitecture } from './architecture';
import { slidingWindowOf } from './configFields';
import { decoderTensors } from './tensorTables';

export const QWEN2: TextArchitecture<'qwen2'> = {
  name: 'qwen2',
  modelTypes: ['qwen2'],
  // transformers' Qwen2Config.
  defaults: {
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
  // Hard-coded in transformers' Qwen2Attention, whatever `attention_bias` says.
  attentionBias: () => true,
  // Files without layer_types: `use_sliding_window` on the layers from `max_window_layers` on.
  slidingWindow: (text, numLayers) =>
    slidingWindowOf(
      text,
      numLayers,
      () => text.bool('use_sliding_window') && text.int('max_window_layers', 0) < numLayers,
    ),
  refuseUnsupported: () => {},
  tensors: decoderTensors({ oProjBias: false }),
  // Qwen2-0.5B's settings (tied head, rope_theta 1e6).
  syntheticConfig: (d) => ({
    model_type: 'qwen2',
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    num_key_value_heads: d.kvHeads,
    intermediate_size: d.mlp,
    vocab_size: d.vocab,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    rope_parameters: { rope_theta: 1000000, rope_type: 'default' },
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 3,
  }),
};
