import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobFolder, openCheckpoint, type Checkpoint } from './checkpoint';
import { parseLlavaConfig } from './config';
import { ConvertError } from '../../common/errors';
import { openCheckpointDir } from './nodeCheckpoint';
import {
  FIXTURE,
  KEY_STYLES,
  copyFixture,
  editJson,
  removeDir,
  rewriteWeights,
  toLegacyGeneration,
} from '../testing/variants';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});
async function variant(tag: string): Promise<string> {
  const dir = await copyFixture(FIXTURE, tag);
  dirs.push(dir);
  return dir;
}
async function openError(dir: string): Promise<ConvertError> {
  try {
    await openCheckpointDir(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as Error).message).not.toContain('\n');
    return err as ConvertError;
  }
  throw new Error(`${dir} opened without error`);
}

/** Everything the converter sees: config, side files, names, shapes, and a sample of values. */
async function summary(ckpt: Checkpoint) {
  const shapes = Object.fromEntries(ckpt.names().map((n) => [n, ckpt.info(n)!.shape.join('x')]));
  const sums: Record<string, number> = {};
  for (const n of [
    'text.embed_tokens.weight',
    'text.layers.31.mlp.down_proj.weight',
    'vision.embeddings.patch_embedding.weight',
    'projector.linear_2.bias',
    'lm_head.weight',
  ]) {
    sums[n] = (await ckpt.read(n)).reduce((a, b) => a + b, 0);
  }
  const dec = new TextDecoder();
  return {
    config: ckpt.config,
    chatTemplate: ckpt.chatTemplate,
    preprocessor: JSON.parse(dec.decode(ckpt.files['preprocessor_config.json'])),
    tokenizer: dec.decode(ckpt.files['tokenizer.json']),
    shapes,
    sums,
  };
}

describe('openCheckpoint', () => {
  it('reads the transformers-5 fixture into canonical names and a normalised config', async () => {
    const ckpt = await openCheckpointDir(FIXTURE);
    expect(ckpt.layout).toBe('v5');
    expect(ckpt.config.text).toMatchObject({
      arch: 'llama',
      hiddenSize: 80,
      numLayers: 32,
      numHeads: 5,
      numKvHeads: 5,
      headDim: 16,
      vocabSize: 270,
      ropeTheta: 10000,
      eosTokenIds: [2],
      padTokenId: 3,
      tieWordEmbeddings: false,
    });
    expect(ckpt.config.vision).toMatchObject({
      arch: 'clip',
      hiddenSize: 48,
      numLayers: 2,
      imageSize: 336,
      patchSize: 14,
      featureLayer: -2,
      selectStrategy: 'default',
      hiddenAct: 'quick_gelu',
    });
    expect(ckpt.config).toMatchObject({
      imageTokenId: 4,
      imageToken: '<image>',
      imageSeqLength: 576,
      projector: { hiddenAct: 'gelu', bias: true },
    });
    const names = ckpt.names();
    expect(names).toContain('text.layers.31.self_attn.q_proj.weight');
    expect(names).toContain('vision.encoder.layers.1.self_attn.out_proj.bias');
    expect(names).toContain('vision.pre_layrnorm.weight');
    expect(names).toContain('projector.linear_1.weight');
    expect(names).toContain('lm_head.weight');
    expect(names.length).toBe(1 + 32 * 9 + 1 + 1 + (3 + 2 + 2 * 16 + 2) + 4);
    expect(ckpt.info('projector.linear_1.weight')).toEqual({ dtype: 'F32', shape: [80, 48] });
    expect(JSON.parse(new TextDecoder().decode(ckpt.files['preprocessor_config.json']))).toMatchObject({
      image_processor_type: 'CLIPImageProcessor',
      crop_size: { height: 336, width: 336 },
    });
    expect(ckpt.chatTemplate).toContain('ASSISTANT:');
    await ckpt.close?.();
  });

  it('gives the same canonical checkpoint for both generations, all key layouts and sharding', async () => {
    const base = await summary(await openCheckpointDir(FIXTURE));
    const cases: [string, (dir: string) => Promise<void>, 'legacy' | 'v5'][] = [
      [
        'hub-generation+hub-keys',
        async (d) => {
          await toLegacyGeneration(d, 'chat_template.json');
          await rewriteWeights(d, KEY_STYLES.hub);
        },
        'legacy',
      ],
      [
        'template-in-tokenizer-config',
        async (d) => {
          await toLegacyGeneration(d, 'tokenizer_config.json');
        },
        'legacy',
      ],
      [
        'v5-memory-keys+3-shards',
        async (d) => {
          await rewriteWeights(d, KEY_STYLES.v5, 3);
        },
        'v5',
      ],
    ];
    for (const [tag, make, layout] of cases) {
      const dir = await variant(tag);
      await make(dir);
      const ckpt = await openCheckpointDir(dir);
      expect(ckpt.layout, tag).toBe(layout);
      const got = await summary(ckpt);
      expect(got.config, tag).toEqual(base.config);
      expect(got.chatTemplate, tag).toBe(base.chatTemplate);
      expect(got.shapes, tag).toEqual(base.shapes);
      expect(got.sums, tag).toEqual(base.sums);
      expect(got.tokenizer, tag).toBe(base.tokenizer);
      const { processor_class: _ignored, ...preprocessor } = got.preprocessor;
      expect(preprocessor, tag).toEqual(base.preprocessor);
      await ckpt.close?.();
    }
  });

  it('reads the GQA LLaMA+CLIP and the Qwen2+SigLIP fixtures (transformers-5 files with a flat preprocessor copy)', async () => {
    const gqa = await openCheckpointDir(join(FIXTURE, '../llama-clip-gqa'));
    expect(gqa.layout).toBe('v5');
    expect(gqa.config.text).toMatchObject({ arch: 'llama', numHeads: 4, numKvHeads: 2 });
    expect(gqa.info('text.layers.0.self_attn.k_proj.weight')!.shape).toEqual([2 * 16, 64]);
    const qwen = await openCheckpointDir(join(FIXTURE, '../qwen2-siglip'));
    expect(qwen.config.text).toMatchObject({ arch: 'qwen2', attentionBias: true, numKvHeads: 2 });
    expect(qwen.config.vision).toMatchObject({ arch: 'siglip', selectStrategy: 'full', featureLayer: -1 });
    expect(qwen.config.imageSeqLength).toBe(576);
    expect(qwen.names()).toContain('text.layers.3.self_attn.v_proj.bias');
    expect(qwen.names()).toContain('vision.embeddings.patch_embedding.bias');
    expect(qwen.names()).not.toContain('vision.embeddings.class_embedding');
    expect(JSON.parse(new TextDecoder().decode(qwen.files['preprocessor_config.json'])).image_processor_type).toBe(
      'SiglipImageProcessor',
    );
  });

  it('opens from in-memory files (the browser path) the same way', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const f of [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'processor_config.json',
      'chat_template.jinja',
      'model.safetensors',
    ]) {
      files[f] = new Uint8Array(await readFile(join(FIXTURE, f)));
    }
    const ckpt = await openCheckpoint(
      blobFolder('picked', {
        ...files,
        'model.safetensors': new Blob([files['model.safetensors'] as Uint8Array<ArrayBuffer>]) as unknown as Uint8Array,
      }),
    );
    const disk = await openCheckpointDir(FIXTURE);
    expect(ckpt.names()).toEqual(disk.names());
    expect(Array.from(await ckpt.read('text.layers.7.self_attn.k_proj.weight'))).toEqual(
      Array.from(await disk.read('text.layers.7.self_attn.k_proj.weight')),
    );
  });

  it('says which file and which problem: truncated shard, bad index, missing key, unsupported arch, wrong shape', async () => {
    const truncated = await variant('trunc');
    await rewriteWeights(truncated, KEY_STYLES.saved, 3);
    const shard2 = join(truncated, 'model-00002-of-00003.safetensors');
    await truncate(shard2, (await readFile(shard2)).byteLength - 100);
    const t = await openError(truncated);
    expect(t.code).toBe('truncated');
    expect(t.message).toMatch(
      /^model-00002-of-00003\.safetensors: truncated: header says tensor ".+" ends at byte [\d,]+ but the file has [\d,]+$/,
    );

    const badIndex = await variant('index');
    await rewriteWeights(badIndex, KEY_STYLES.saved, 2);
    await editJson(join(badIndex, 'model.safetensors.index.json'), (j) => {
      j.weight_map['language_model.model.norm.weight'] = 'model-00001-of-00002.safetensors';
    });
    const bi = await openError(badIndex);
    expect(bi.code).toBe('bad-index');
    expect(bi.message).toMatch(
      /^model\.safetensors\.index\.json: tensor "language_model\.model\.norm\.weight" is in model-0000\d-of-00002\.safetensors but the index says "model-00001-of-00002.safetensors"|^model-00001-of-00002\.safetensors: model\.safetensors\.index\.json lists tensor "language_model\.model\.norm\.weight"/,
    );

    const missingKey = await variant('key');
    await editJson(join(missingKey, 'config.json'), (j) => {
      delete j.text_config.model_type;
    });
    const mk = await openError(missingKey);
    expect(mk.message).toBe('config.json: missing key "text_config.model_type"');

    const arch = await variant('arch');
    await editJson(join(arch, 'config.json'), (j) => {
      j.text_config.model_type = 'gemma';
    });
    expect((await openError(arch)).message).toBe(
      'config.json: unsupported text model "gemma" in "text_config.model_type" (supported: llama, qwen2, mistral)',
    );
    await editJson(join(arch, 'config.json'), (j) => {
      j.text_config.model_type = 'llama';
      j.model_type = 'llava_next';
    });
    expect((await openError(arch)).message).toBe(
      'config.json: unsupported model "llava_next" in "model_type" (supported: llava, video_llava)',
    );
    await editJson(join(arch, 'config.json'), (j) => {
      j.model_type = 'llava';
      j.vision_config.model_type = 'dinov2';
    });
    expect((await openError(arch)).message).toMatch(
      /^config\.json: unsupported vision tower "dinov2" .*\(supported: clip_vision_model, clip, siglip_vision_model, siglip\)$/,
    );

    // A config value that does not fit the weights: caught by the shape check before any output.
    const shape = await variant('shape');
    await editJson(join(shape, 'config.json'), (j) => {
      j.text_config.intermediate_size = 200;
    });
    expect((await openError(shape)).message).toBe(
      'model.safetensors: tensor "language_model.model.layers.0.mlp.gate_proj.weight" has shape [192, 80] but config.json implies [200, 80]',
    );

    const noTok = await variant('notok');
    await rm(join(noTok, 'tokenizer.json'));
    expect((await openError(noTok)).message).toMatch(/^tokenizer\.json: file not found in /);

    const badJson = await variant('json');
    await writeFile(join(badJson, 'config.json'), '{"model_type": ');
    expect((await openError(badJson)).message).toMatch(/^config\.json: not valid JSON/);
  });
});

describe('parseLlavaConfig', () => {
  it('applies transformers class defaults to the hub’s diff-only configs (llava-1.5-7b-hf)', () => {
    // config.json of llava-hf/llava-1.5-7b-hf (text_config lists only what differs from LlamaConfig).
    const c = parseLlavaConfig({
      architectures: ['LlavaForConditionalGeneration'],
      ignore_index: -100,
      image_token_index: 32000,
      model_type: 'llava',
      pad_token_id: 32001,
      projector_hidden_act: 'gelu',
      text_config: {
        _name_or_path: 'lmsys/vicuna-7b-v1.5',
        architectures: ['LlamaForCausalLM'],
        max_position_embeddings: 4096,
        model_type: 'llama',
        rms_norm_eps: 1e-5,
        torch_dtype: 'float16',
        vocab_size: 32064,
      },
      tie_word_embeddings: false,
      torch_dtype: 'float16',
      transformers_version: '4.36.0.dev0',
      vision_config: {
        hidden_size: 1024,
        image_size: 336,
        intermediate_size: 4096,
        model_type: 'clip_vision_model',
        num_attention_heads: 16,
        num_hidden_layers: 24,
        patch_size: 14,
        projection_dim: 768,
        vocab_size: 32000,
      },
      vision_feature_layer: -2,
      vision_feature_select_strategy: 'default',
      vocab_size: 32064,
    });
    expect(c.text).toMatchObject({
      hiddenSize: 4096,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 32,
      headDim: 128,
      intermediateSize: 11008,
      vocabSize: 32064,
      ropeTheta: 10000,
      maxPositions: 4096,
    });
    expect(c.vision).toMatchObject({
      hiddenSize: 1024,
      numLayers: 24,
      patchSize: 14,
      imageSize: 336,
      hiddenAct: 'quick_gelu',
    });
    expect(c.imageSeqLength).toBe(576);
  });

  it('reads Qwen2 + SigLIP (interleave) with biases, GQA and tied embeddings', () => {
    const c = parseLlavaConfig({
      model_type: 'llava',
      image_token_index: 151646,
      vision_feature_select_strategy: 'full',
      vision_feature_layer: -1,
      text_config: {
        model_type: 'qwen2',
        hidden_size: 896,
        intermediate_size: 4864,
        num_attention_heads: 14,
        num_hidden_layers: 24,
        num_key_value_heads: 2,
        rope_theta: 1000000,
        vocab_size: 152000,
        tie_word_embeddings: true,
        eos_token_id: 151645,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 32768,
      },
      vision_config: {
        model_type: 'siglip_vision_model',
        hidden_size: 1152,
        image_size: 384,
        intermediate_size: 4304,
        num_attention_heads: 16,
        num_hidden_layers: 26,
        patch_size: 14,
      },
    });
    expect(c.text).toMatchObject({
      arch: 'qwen2',
      numKvHeads: 2,
      headDim: 64,
      attentionBias: true,
      tieWordEmbeddings: true,
      ropeTheta: 1e6,
      eosTokenIds: [151645],
    });
    expect(c.vision).toMatchObject({
      arch: 'siglip',
      selectStrategy: 'full',
      featureLayer: -1,
      hiddenAct: 'gelu_pytorch_tanh',
      layerNormEps: 1e-6,
    });
    expect(c.imageSeqLength).toBe(729);
  });
});
