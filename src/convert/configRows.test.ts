/**
 * The table of docs/CHECKPOINTS.md, row by row: every LlavaForConditionalGeneration config row
 * transformers 5.17 accepts is either read the way transformers reads it (what the probe
 * fixtures/probe_llava_semantics.py recorded from the library, and the goldens of the fixtures
 * made with it) or refused with a one-line message that names the file, the field and why.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LlavaConfig, parseLlavaConfig } from './checkpoint/config';
import { ConvertError } from '../common/errors';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { buildManifest } from './manifestWriter';
import { copyFixture, editJson, removeDir } from './testing/variants';

type Json = Record<string, any>;

/** A small llava-1.5-shaped config.json (LLaMA + CLIP 336/14, diff-only like the hub's). */
function base(): Json {
  return {
    model_type: 'llava',
    image_token_index: 32000,
    projector_hidden_act: 'gelu',
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    text_config: {
      model_type: 'llama',
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 2,
      intermediate_size: 128,
      vocab_size: 32064,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      image_size: 336,
      patch_size: 14,
    },
  };
}

function parse(edit: (c: Json) => void): LlavaConfig {
  const c = base();
  edit(c);
  return parseLlavaConfig(c);
}

function refusal(edit: (c: Json) => void): string {
  try {
    parse(edit);
  } catch (err) {
    expect(err).toBeInstanceOf(ConvertError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('config rows transformers accepts and we support', () => {
  it('text backbones: LLaMA/Vicuna, Qwen2 (q/k/v biases always), Mistral (no biases, class defaults)', () => {
    expect(parse(() => {}).text).toMatchObject({
      arch: 'llama',
      attentionBias: false,
      slidingWindow: null,
      numKvHeads: 4,
      headDim: 16,
    });
    expect(
      parse((c) => {
        c.text_config.model_type = 'qwen2';
      }).text,
    ).toMatchObject({ arch: 'qwen2', attentionBias: true, slidingWindow: null });
    // MistralConfig: num_key_value_heads 8, sliding_window 4096, max_position_embeddings 131072 when absent.
    const m = parse((c) => {
      c.text_config = {
        model_type: 'mistral',
        hidden_size: 64,
        num_attention_heads: 8,
        num_hidden_layers: 2,
        intermediate_size: 128,
        vocab_size: 32064,
        attention_bias: true,
      };
    });
    expect(m.text).toMatchObject({
      arch: 'mistral',
      numKvHeads: 8,
      slidingWindow: 4096,
      maxPositions: 131072,
      attentionBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  it('sliding windows: Mistral sliding_window (null: none), Qwen2 layer_types or use_sliding_window + max_window_layers', () => {
    const mistral = (extra: Json) =>
      parse((c) => {
        c.text_config = { ...c.text_config, model_type: 'mistral', num_key_value_heads: 2, ...extra };
      }).text.slidingWindow;
    expect(mistral({ sliding_window: 1024 })).toBe(1024);
    expect(mistral({ sliding_window: null })).toBeNull();
    const qwen = (extra: Json) =>
      parse((c) => {
        c.text_config = { ...c.text_config, model_type: 'qwen2', ...extra };
      }).text.slidingWindow;
    expect(qwen({ sliding_window: 64, layer_types: ['full_attention', 'sliding_attention'] })).toBe(64);
    expect(qwen({ sliding_window: 64, layer_types: ['full_attention', 'full_attention'] })).toBeNull();
    expect(qwen({ sliding_window: 64, use_sliding_window: true, max_window_layers: 1 })).toBe(64);
    expect(qwen({ sliding_window: 64, use_sliding_window: true, max_window_layers: 28 })).toBeNull(); // no layer ≥ 28 of 2
    expect(qwen({ sliding_window: 32768, use_sliding_window: false })).toBeNull(); // the hub's Qwen2 configs
  });

  it('head_dim, num_key_value_heads null, rope_theta nested (transformers 5) or flat (hub), rope_scaling null', () => {
    expect(
      parse((c) => {
        c.text_config.head_dim = 32;
      }).text.headDim,
    ).toBe(32);
    expect(
      parse((c) => {
        c.text_config.num_key_value_heads = null;
      }).text.numKvHeads,
    ).toBe(4);
    expect(
      parse((c) => {
        c.text_config.rope_parameters = { rope_type: 'default', rope_theta: 5e5 };
      }).text.ropeTheta,
    ).toBe(5e5);
    expect(
      parse((c) => {
        c.text_config.rope_theta = 1e6;
        c.text_config.rope_scaling = null;
      }).text.ropeTheta,
    ).toBe(1e6);
    expect(
      parse((c) => {
        c.text_config.rope_scaling = { type: 'default' };
        c.text_config.rope_theta = 2e4;
      }).text.ropeTheta,
    ).toBe(2e4);
  });

  it("tie_word_embeddings: tied when the top level OR text_config says so (LlavaConfig forwards text_config's)", () => {
    const tie = (top: boolean | undefined, text: boolean | undefined) =>
      parse((c) => {
        if (top !== undefined) c.tie_word_embeddings = top;
        if (text !== undefined) c.text_config.tie_word_embeddings = text;
      }).text.tieWordEmbeddings;
    expect(tie(undefined, true)).toBe(true);
    expect(tie(true, false)).toBe(true);
    expect(tie(false, true)).toBe(true);
    expect(tie(false, false)).toBe(false);
    expect(tie(undefined, undefined)).toBe(false);
  });

  it('image tokens come from image size, patch size and strategy; image_seq_length is not read', () => {
    const count = (edit: (c: Json) => void) => parse(edit).imageSeqLength;
    expect(count(() => {})).toBe(576); // CLIP 336/14, default: CLS dropped
    expect(
      count((c) => {
        c.vision_feature_select_strategy = 'full';
      }),
    ).toBe(577); // CLS kept
    const siglip384 = (c: Json) => {
      c.vision_config = { ...c.vision_config, model_type: 'siglip_vision_model', image_size: 384 };
    };
    expect(
      count((c) => {
        siglip384(c);
        c.vision_feature_select_strategy = 'full';
        c.image_seq_length = 576;
      }),
    ).toBe(729); // 27² (6 px unused)
    expect(
      count((c) => {
        siglip384(c);
        c.image_seq_length = 1;
      }),
    ).toBe(728); // "default" drops the first patch
    expect(
      parse((c) => {
        siglip384(c);
      }).vision,
    ).toMatchObject({ arch: 'siglip', imageSize: 384, patchSize: 14, hiddenAct: 'gelu_pytorch_tanh' });
  });

  it('vision_feature_layer: an int or a list (concatenated: projector input Dv × n); multimodal_projector_bias; dtype not read', () => {
    expect(parse(() => {}).vision).toMatchObject({ featureLayer: -2, featureLayers: [-2] });
    const list = parse((c) => {
      c.vision_feature_layer = [-3, -1, 0];
      c.multimodal_projector_bias = false;
      c.torch_dtype = 'bfloat16';
      c.dtype = 'float16';
    });
    expect(list.vision).toMatchObject({ featureLayer: [-3, -1, 0], featureLayers: [-3, -1, 0] });
    expect(list.projector).toEqual({ hiddenAct: 'gelu', bias: false, inputSize: 96 });
    expect(
      parse((c) => {
        c.vision_feature_layer = 3;
      }).vision.featureLayers,
    ).toEqual([3]);
    expect(
      parse((c) => {
        c.image_token_id = 7;
        delete c.image_token_index;
      }).imageTokenId,
    ).toBe(7);
  });
});

describe('config rows transformers accepts and we refuse, naming the field and why', () => {
  const cases: [string, (c: Json) => void, string][] = [
    [
      'another text model',
      (c) => {
        c.text_config.model_type = 'gemma';
      },
      'config.json: unsupported text model "gemma" in "text_config.model_type" (supported: llama, qwen2, mistral)',
    ],
    [
      'another vision tower',
      (c) => {
        c.vision_config.model_type = 'dinov2';
      },
      'config.json: unsupported vision tower "dinov2" in "vision_config.model_type" (supported: clip_vision_model, clip, siglip_vision_model, siglip)',
    ],
    [
      'scaled rope (transformers 5)',
      (c) => {
        c.text_config.rope_parameters = { rope_type: 'llama3', rope_theta: 5e5, factor: 8 };
      },
      'config.json: unsupported "text_config.rope_parameters.rope_type" "llama3": the rotary tables are built for rope_type "default" only (scaled variants change the frequencies)',
    ],
    [
      'scaled rope (hub rope_scaling)',
      (c) => {
        c.text_config.rope_scaling = { type: 'linear', factor: 2 };
      },
      'config.json: unsupported "text_config.rope_scaling.type" "linear": the rotary tables are built for rope_type "default" only (scaled variants change the frequencies)',
    ],
    [
      'partial rotary',
      (c) => {
        c.text_config.rope_parameters = { rope_type: 'default', rope_theta: 1e4, partial_rotary_factor: 0.5 };
      },
      'config.json: unsupported "text_config.rope_parameters.partial_rotary_factor" 0.5: the rotary embedding turns the whole head (supported: 1)',
    ],
    [
      'decoder activation',
      (c) => {
        c.text_config.hidden_act = 'gelu';
      },
      'config.json: unsupported "text_config.hidden_act" "gelu": the decoder layer graph is SwiGLU with silu (supported: silu)',
    ],
    [
      'LLaMA attention_bias',
      (c) => {
        c.text_config.attention_bias = true;
      },
      'config.json: unsupported "text_config.attention_bias" true: LLaMA then has an o_proj bias, which the decoder layer graph does not add (supported: false)',
    ],
    [
      'LLaMA mlp_bias',
      (c) => {
        c.text_config.mlp_bias = true;
      },
      'config.json: unsupported "text_config.mlp_bias" true: the decoder layer graph has no MLP biases (supported: false)',
    ],
    [
      'vision activation',
      (c) => {
        c.vision_config.hidden_act = 'relu';
      },
      'config.json: unsupported "vision_config.hidden_act" "relu": the vision encoder graph has no such activation (supported: silu, quick_gelu, gelu, gelu_pytorch_tanh)',
    ],
    [
      'projector activation',
      (c) => {
        c.projector_hidden_act = 'gelu_new';
      },
      'config.json: unsupported "projector_hidden_act" "gelu_new": the projector graph has no such activation (supported: silu, quick_gelu, gelu, gelu_pytorch_tanh)',
    ],
  ];
  it.each(cases)('%s', (_, edit, message) => {
    expect(refusal(edit)).toBe(message);
  });
});

describe('config rows transformers itself refuses (or fails on): refused here before any output', () => {
  const cases: [string, (c: Json) => void, string][] = [
    [
      'feature layer past the hidden states (transformers: IndexError)',
      (c) => {
        c.vision_feature_layer = [-1, 4];
      },
      'config.json: "vision_feature_layer" must be indices into the 4 hidden states of a 3-layer tower (−4…3), got [-1,4]',
    ],
    [
      'feature layer not an int',
      (c) => {
        c.vision_feature_layer = '-2';
      },
      'config.json: "vision_feature_layer" must be an integer or a non-empty list of integers, got "-2"',
    ],
    [
      'empty feature layer list',
      (c) => {
        c.vision_feature_layer = [];
      },
      'config.json: "vision_feature_layer" must be an integer or a non-empty list of integers, got []',
    ],
    [
      'select strategy (LlavaConfig validates it)',
      (c) => {
        c.vision_feature_select_strategy = 'cls_patch';
      },
      'config.json: "vision_feature_select_strategy" must be "default" or "full" (as LlavaConfig requires), got "cls_patch"',
    ],
    [
      'layer_types of the wrong length',
      (c) => {
        c.text_config.model_type = 'qwen2';
        c.text_config.layer_types = ['full_attention'];
      },
      'config.json: "text_config.layer_types" must be a list of 2 "full_attention" / "sliding_attention", got ["full_attention"]',
    ],
    [
      'kv heads not dividing heads',
      (c) => {
        c.text_config.num_key_value_heads = 3;
      },
      'config.json: "text_config.num_key_value_heads" must be a divisor of num_attention_heads (4), got 3',
    ],
  ];
  it.each(cases)('%s', (_, edit, message) => {
    expect(refusal(edit)).toBe(message);
  });
});

describe('the processor against the model (where transformers stops at run time)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });
  const fixture = (name: string) => join(import.meta.dirname, '..', '..', 'fixtures', name);
  async function openError(dir: string): Promise<string> {
    try {
      await openCheckpointDir(dir);
    } catch (err) {
      expect(err).toBeInstanceOf(ConvertError);
      return (err as Error).message;
    }
    throw new Error('opened');
  }

  it('an <image> expansion that differs from the features the model yields', async () => {
    const dir = await copyFixture(fixture('llama-clip-gqa'), 'proc');
    dirs.push(dir);
    await editJson(join(dir, 'processor_config.json'), (j) => {
      j.num_additional_image_tokens = 0;
    });
    expect(await openError(dir)).toBe(
      'processor_config.json: "patch_size" 14, "num_additional_image_tokens" 0 and "vision_feature_select_strategy" "default" expand <image> to 575 tokens ' +
        'but the model yields 576 image features per image (config.json: clip 336px / patch 14, "default"); transformers stops on this ("Image features and image tokens do not match")',
    );
  });

  it('pixel values of another size than vision_config.image_size', async () => {
    const dir = await copyFixture(fixture('qwen2-siglip-384'), 'px');
    dirs.push(dir);
    await editJson(join(dir, 'preprocessor_config.json'), (j) => {
      j.size = { height: 336, width: 336 };
    });
    expect(await openError(dir)).toBe(
      'preprocessor_config.json: "size" gives 336×336 pixel values but config.json "vision_config.image_size" is 384: the tower\'s position embeddings fit that size only (transformers stops on it too)',
    );
  });

  it('the fixtures made by transformers open with the counts transformers used', async () => {
    const counts: Record<string, number> = {
      'qwen2-siglip-384': 729,
      'llama-siglip-hubkeys': 575,
      'mistral-clip': 576,
      'llama-clip-bf16-sharded': 576,
    };
    for (const [name, count] of Object.entries(counts)) {
      const ckpt = await openCheckpointDir(fixture(name));
      expect(ckpt.config.imageSeqLength, name).toBe(count);
      await ckpt.close?.();
    }
  });

  it('a sliding window caps the package context: mistral-clip (window 1024 of 4096 positions) → manifest maxPositions 1024', async () => {
    const ckpt = await openCheckpointDir(fixture('mistral-clip'));
    const manifest = JSON.parse(new TextDecoder().decode(buildManifest(ckpt, 'fp32', [])));
    expect(ckpt.config.text).toMatchObject({ arch: 'mistral', slidingWindow: 1024, maxPositions: 4096 });
    expect(manifest.text).toMatchObject({ maxPositions: 1024, slidingWindow: 1024 });
    expect(manifest.architecture.text).toBe('mistral');
    await ckpt.close?.();
  });
});
