/**
 * docs/CHECKPOINTS.md, "Video-LLaVA": the video_llava rows, on the `videollava-clip-112` fixture
 * (a VideoLlavaForConditionalGeneration saved by transformers 5.17, fixtures/make_videollava.py)
 * and on edited copies of it. What the converted package computes is checked against
 * transformers by src/engine/goldenVideoLlava.test.ts.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLlavaConfig } from './checkpoint/config';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { ConvertError } from '../common/errors';
import { buildManifest } from './manifestWriter';
import { convertToTransformersJs } from './transformersjs';
import { MemorySink } from '../package/sink';
import { copyFixture, editJson, removeDir, rewriteWeights } from './testing/variants';

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'videollava-clip-112');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});
async function copy(tag: string): Promise<string> {
  const dir = await copyFixture(FIXTURE, tag);
  dirs.push(dir);
  return dir;
}
async function openError(dir: string): Promise<string> {
  try {
    await openCheckpointDir(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConvertError);
    return (err as Error).message;
  }
  throw new Error('opened');
}

describe('Video-LLaVA checkpoints (model_type video_llava)', () => {
  it('two towers of one vision_config: image_tower → vision.*, video_tower → video_vision.*; <video> with 65 tokens a frame (CLS kept)', async () => {
    const ckpt = await openCheckpointDir(FIXTURE);
    try {
      expect(ckpt.config.family).toBe('video_llava');
      expect(ckpt.config.video).toEqual({ tokenId: 300, token: '<video>', tokensPerFrame: 65 });
      // Images as LLaVA: "default" drops CLS (8 × 8 patches).
      expect(ckpt.config.imageSeqLength).toBe(64);
      const names = ckpt.names();
      expect(names.filter((n) => n.startsWith('vision.')).length).toBe(
        names.filter((n) => n.startsWith('video_vision.')).length,
      );
      expect(names).toContain('video_vision.embeddings.class_embedding');
      expect(names).toContain('video_vision.encoder.layers.2.mlp.fc2.weight');
      const manifest = JSON.parse(new TextDecoder().decode(buildManifest(ckpt, 'fp32', [])));
      expect(manifest.video).toEqual({ tokenId: 300, token: '<video>', tokensPerFrame: 65 });
      expect(manifest.graphs.videoVision).toBe('video_vision.onnx');
      // The towers' weights differ: a converter reading one for both would not see it here.
      const a = await ckpt.read('vision.embeddings.class_embedding');
      const b = await ckpt.read('video_vision.embeddings.class_embedding');
      expect(a).not.toEqual(b);
    } finally {
      await ckpt.close?.();
    }
  });

  it('in-memory key names (model.image_tower.vision_model.*, model.video_tower.*) open to the same tensors', async () => {
    const dir = await copy('vl-keys');
    await rewriteWeights(dir, (k) =>
      k
        .replace(/^language_model\.lm_head\./, 'lm_head.')
        .replace(/^language_model\.model\./, 'model.language_model.')
        .replace(/^image_tower\./, 'model.image_tower.vision_model.')
        .replace(/^video_tower\./, 'model.video_tower.')
        .replace(/^multi_modal_projector\./, 'model.multi_modal_projector.'),
    );
    const [x, y] = [await openCheckpointDir(FIXTURE), await openCheckpointDir(dir)];
    expect(y.names()).toEqual(x.names());
    expect(await y.read('video_vision.pre_layrnorm.weight')).toEqual(await x.read('video_vision.pre_layrnorm.weight'));
    await x.close?.();
    await y.close?.();
  });

  it('a <video> expansion that differs from the video tower refused, as transformers stops on it', async () => {
    const dir = await copy('vl-proc');
    // "full" + no additional token: <image> still 64 (passes), <video> 64 a frame where the tower gives 65.
    await editJson(join(dir, 'processor_config.json'), (j) => {
      j.num_additional_image_tokens = 0;
      j.vision_feature_select_strategy = 'full';
    });
    expect(await openError(dir)).toBe(
      'processor_config.json: "patch_size" 14 and "num_additional_image_tokens" 0 expand <video> to 64 tokens a frame ' +
        'but the video tower yields 65 (every token of clip 112px / patch 14); transformers stops on this ("Video features and video tokens do not match")',
    );
  });

  it("a processor_config.json without num_additional_image_tokens takes VideoLlavaProcessor's default (1), not LlavaProcessor's (0)", async () => {
    const dir = await copy('vl-proc-default');
    await editJson(join(dir, 'processor_config.json'), (j) => {
      delete j.num_additional_image_tokens;
    });
    const ckpt = await openCheckpointDir(dir);
    expect(ckpt.config.video?.tokensPerFrame).toBe(65);
    await ckpt.close?.();
  });

  it('a video token outside the vocabulary, and one the tokenizer does not have, are refused naming the field', async () => {
    const dir = await copy('vl-token');
    await editJson(join(dir, 'config.json'), (j) => {
      j.video_token_index = 299; // "▁" BPE merges, not an added token
    });
    expect(await openError(dir)).toBe(
      'tokenizer.json: no added token with the video token id 299 (config.json "video_token_index")',
    );
    const config = (await import('node:fs')).readFileSync(join(FIXTURE, 'config.json'), 'utf8');
    const json = JSON.parse(config);
    json.video_token_index = 301;
    expect(() => parseLlavaConfig(json)).toThrow(
      'config.json: "video_token_index" must be below text_config.vocab_size (301), got 301',
    );
    // VideoLlavaConfig's own defaults: <video> 32001, CLIP at 224 px when vision_config is absent.
    delete json.video_token_index;
    delete json.vision_config;
    json.text_config.vocab_size = 32064;
    const parsed = parseLlavaConfig(json);
    expect(parsed.video?.tokenId).toBe(32001);
    expect(parsed.vision).toMatchObject({ imageSize: 224, patchSize: 14, hiddenSize: 1024, numLayers: 24 });
    expect(parsed.video?.tokensPerFrame).toBe(257);
    expect(parsed.imageSeqLength).toBe(256);
  });

  it('a LLaVA checkpoint with a video_tower is refused (no such part of llava), and video_llava has no transformers.js layout', async () => {
    const dir = await copy('vl-as-llava');
    await editJson(join(dir, 'config.json'), (j) => {
      j.model_type = 'llava';
    });
    expect(await openError(dir)).toMatch(
      /^model\.safetensors: tensor "image_tower\.embeddings\.class_embedding" belongs to no known part \(language_model, lm_head, vision_tower, multi_modal_projector\)$/,
    );
    const ckpt = await openCheckpointDir(FIXTURE);
    const sink = new MemorySink();
    await expect(convertToTransformersJs(ckpt, { dtype: 'fp32', sink })).rejects.toThrow(
      'the transformers.js layout is for LLaVA only',
    );
    expect(sink.files.size).toBe(0);
    await ckpt.close?.();
  });
});
