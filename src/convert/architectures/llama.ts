/** LLaMA / Vicuna (LLaVA-1.5's decoder): the layer every supported decoder shares. */
import type { TextArchitecture } from './architecture';
import { decoderTensors } from './tensorTables';

export const LLAMA: TextArchitecture<'llama'> = {
  name: 'llama',
  modelTypes: ['llama'],
  // transformers' LlamaConfig.
  defaults: {
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
  // `attention_bias` puts a bias on o_proj too, which the decoder layer graph does not add.
  attentionBias(text) {
    const bias = text.bool('attention_bias');
    if (bias)
      throw text.unsupported(
        'attention_bias',
        true,
        'LLaMA then has an o_proj bias, which the decoder layer graph does not add (supported: false)',
      );
    return bias;
  },
  slidingWindow: () => null,
  // transformers adds `mlp_bias` to gate/up/down; our layer graph has none there.
  refuseUnsupported(text) {
    if (text.has('mlp_bias') && text.bool('mlp_bias'))
      throw text.unsupported('mlp_bias', true, 'the decoder layer graph has no MLP biases (supported: false)');
  },
  tensors: decoderTensors({ oProjBias: true }),
  syntheticConfig: (d) => ({
    model_type: 'llama',
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    num_key_value_heads: d.kvHeads,
    head_dim: d.hidden / d.heads,
    intermediate_size: d.mlp,
    vocab_size: d.vocab,
    hidden_act: 'silu',
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    rope_parameters: { rope_theta: 10000, rope_type: 'default' },
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 3,
  }),
};
