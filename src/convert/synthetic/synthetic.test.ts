import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConvertError } from '../../common/errors';
import { expectedTensors } from '../checkpoint/keys';
import { openCheckpointDir } from '../checkpoint/nodeCheckpoint';
import { DirSink } from '../../package/nodeSink';
import { convertCheckpoint } from '../convert';
import { parseManifest } from '../../package/manifest';
import { INT4_BLOCK } from '../quantize';
import {
  SYNTHETIC_SHAPES,
  SYNTHETIC_TOKENIZER_VOCAB,
  SyntheticCheckpoint,
  syntheticCheckpointFiles,
  syntheticTokenizerFixture,
} from './synthetic';
import { FIXTURE, removeDir, tempDir } from '../testing/variants';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

async function tokenizer(dir = FIXTURE) {
  return {
    tokenizerJson: new Uint8Array(await readFile(join(dir, 'tokenizer.json'))),
    tokenizerConfigJson: new Uint8Array(await readFile(join(dir, 'tokenizer_config.json'))),
    chatTemplate: await readFile(join(dir, 'chat_template.jinja'), 'utf8'),
  };
}
/** The tokenizer shape `name` carries (make-synthetic.ts and bench/models.ts read the same fixture). */
const shapeTokenizer = (name: string) =>
  tokenizer(new URL(`../../../fixtures/${syntheticTokenizerFixture(name)}/`, import.meta.url).pathname);

describe('SyntheticCheckpoint', () => {
  it('has the real shapes of LLaVA-1.5-7B and LLaVA-Interleave-Qwen-0.5B', async () => {
    const tok = await tokenizer();
    const llava = new SyntheticCheckpoint('llava-1.5-7b', tok);
    expect(llava.config.text).toMatchObject({
      hiddenSize: 4096,
      numLayers: 32,
      numHeads: 32,
      intermediateSize: 11008,
      vocabSize: 32000,
    });
    expect(llava.config.vision).toMatchObject({
      hiddenSize: 1024,
      numLayers: 24,
      numHeads: 16,
      intermediateSize: 4096,
      patchSize: 14,
      imageSize: 336,
    });
    expect(llava.info('projector.linear_1.weight')!.shape).toEqual([4096, 1024]);
    expect(llava.info('projector.linear_2.weight')!.shape).toEqual([4096, 4096]);
    // 7.06 B parameters: LLaVA-1.5-7B's count (Vicuna 6.74 B + CLIP-L 0.30 B + projector 0.02 B).
    expect(llava.parameterCount() / 1e9).toBeCloseTo(7.06, 2);
    const qwen = new SyntheticCheckpoint('interleave-qwen-0.5b', tok);
    expect(qwen.config.text).toMatchObject({
      arch: 'qwen2',
      numKvHeads: 2,
      headDim: 64,
      attentionBias: true,
      tieWordEmbeddings: true,
    });
    expect(qwen.config.imageSeqLength).toBe(729);
    expect(qwen.names()).not.toContain('lm_head.weight');
    expect(qwen.names()).toContain('text.layers.0.self_attn.q_proj.bias');
    expect(new SyntheticCheckpoint('tiny', tok).config.text.vocabSize).toBe(SYNTHETIC_TOKENIZER_VOCAB);
    expect(new SyntheticCheckpoint('tiny', tok).config.imageSeqLength).toBe(576);
    for (const name of Object.keys(SYNTHETIC_SHAPES)) {
      const c = new SyntheticCheckpoint(name, await shapeTokenizer(name));
      expect(c.names()).toEqual([...expectedTensors(c.config).keys()].sort());
    }
    expect(() => new SyntheticCheckpoint('huge', tok)).toThrow(ConvertError);
  });

  it('generates seeded, order-independent, sensibly scaled tensors', async () => {
    const tok = await tokenizer();
    const a = new SyntheticCheckpoint('tiny', tok, 7);
    const b = new SyntheticCheckpoint('tiny', tok, 7);
    const name = 'text.layers.2.mlp.up_proj.weight';
    await b.read('text.embed_tokens.weight');
    const x = await a.read(name);
    expect(Array.from(await b.read(name))).toEqual(Array.from(x));
    expect(Array.from(await new SyntheticCheckpoint('tiny', tok, 8).read(name))).not.toEqual(Array.from(x));
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(Array.from(await a.read('text.norm.weight')).every((v) => v === 1)).toBe(true);
    expect(Array.from(await a.read('vision.pre_layrnorm.bias')).every((v) => v === 0)).toBe(true);
  });

  it('writes an HF-layout checkpoint that openCheckpoint reads back to the same tensors, single and sharded', async () => {
    const ckpt = new SyntheticCheckpoint('tiny', await tokenizer(), 3);
    for (const [tag, maxShard] of [
      ['single', 5e9],
      ['sharded', 100_000],
    ] as const) {
      const out = join(await tempDir(`synth-${tag}`), 'ckpt');
      dirs.push(join(out, '..'));
      const sink = new DirSink(out);
      for (const f of syntheticCheckpointFiles(ckpt, 'F16', maxShard)) await sink.writeStream(f.path, f.chunks);
      await sink.commit();
      const files = await readdir(out);
      expect(files).toContain('chat_template.jinja');
      expect(files).toContain('processor_config.json');
      if (tag === 'sharded')
        expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(3);
      const back = await openCheckpointDir(out);
      expect(back.layout).toBe('v5');
      expect(back.config).toEqual(ckpt.config);
      expect(back.names()).toEqual(ckpt.names());
      const name = 'vision.encoder.layers.1.mlp.fc1.weight';
      const want = await ckpt.read(name);
      const got = await back.read(name);
      expect(back.info(name)!.dtype).toBe('F16');
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
      expect(worst).toBeLessThan(0.04 * 2 ** -11); // one f16 rounding of values below 0.04
      await back.close?.();
    }
  });

  it('video-llava-7b is Video-LLaVA-7B: its own video tower, 257 tokens a frame (CLS kept), 2056 for 8', async () => {
    const video = new SyntheticCheckpoint('video-llava-7b', await shapeTokenizer('video-llava-7b'));
    const tok0 = await tokenizer();
    const llava = new SyntheticCheckpoint('llava-1.5-7b', tok0);
    expect(video.config.family).toBe('video_llava');
    expect(video.config.video).toEqual({ tokenId: 300, token: '<video>', tokensPerFrame: 257 });
    expect(8 * video.config.video!.tokensPerFrame).toBe(2056);
    expect(video.config.imageSeqLength).toBe(256); // an image through the image tower: CLS dropped ('default')
    expect(video.config.vision).toMatchObject({ hiddenSize: 1024, numLayers: 24, imageSize: 224, patchSize: 14 });
    // The video tower: every image-tower tensor again under video_vision., same shapes, its own values.
    const tower = video.names().filter((n) => n.startsWith('vision.'));
    expect(video.names().filter((n) => n.startsWith('video_vision.'))).toEqual(tower.map((n) => `video_${n}`).sort());
    for (const n of tower) expect(video.info(`video_${n}`)!.shape).toEqual(video.info(n)!.shape);
    const fc1 = 'vision.encoder.layers.0.mlp.fc1.bias';
    expect(Array.from(await video.read(`video_${fc1}`))).not.toEqual(Array.from(await video.read(fc1)));
    // The decoder and the image tower's layers are llava-1.5-7b's, value for value (same names and shapes).
    const q = 'text.layers.31.self_attn.q_proj.weight';
    const codes = async (c: SyntheticCheckpoint) =>
      Buffer.from((await c.readInt4(q, { blockSize: INT4_BLOCK, halfScales: false }))!.packed);
    expect((await codes(video)).equals(await codes(llava))).toBe(true);
    expect(Array.from(await video.read(fc1))).toEqual(Array.from(await llava.read(fc1)));
    // 7.36 B: llava-1.5-7b's 7.06 B with the towers at 224 px (577 − 257 positions fewer) and a second CLIP-L (0.30 B).
    const towerParams = tower.reduce((n, name) => n + video.info(name)!.shape.reduce((a, b) => a * b, 1), 0);
    expect(towerParams / 1e9).toBeCloseTo(0.303, 3);
    expect(video.parameterCount() - llava.parameterCount()).toBe(towerParams - (577 - 257) * 1024);
    // Given the LLaVA tokenizer (no <video>), it says what it needs and where to find it.
    expect(() => new SyntheticCheckpoint('video-llava-7b', tok0)).toThrow(
      /needs "<video>" as added token 300 .* fixtures\/videollava-clip-112/,
    );
  });

  it('video-llava-tiny converts to a Video-LLaVA package (video tower, 65 tokens a frame) and an HF checkpoint', async () => {
    const ckpt = new SyntheticCheckpoint('video-llava-tiny', await shapeTokenizer('video-llava-tiny'), 1);
    const root = await tempDir('synth-video');
    dirs.push(root);
    await convertCheckpoint(ckpt, { dtype: 'fp32', sink: new DirSink(join(root, 'package')) });
    const manifest = parseManifest(await readFile(join(root, 'package', 'manifest.json'), 'utf8'));
    expect(manifest.video).toEqual({ tokenId: 300, token: '<video>', tokensPerFrame: 65 });
    expect(manifest.vision.visualTokens).toBe(64);
    expect(manifest.graphs.videoVision).toBeDefined();
    expect(manifest.files.map((f) => f.path)).toContain(manifest.graphs.videoVision);
    expect(manifest.chatTemplate).toContain("c['type'] == 'video'");
    // The checkpoint layout: image_tower.* and video_tower.*, VideoLlavaProcessor's 65 a frame, read back whole.
    const out = join(root, 'ckpt');
    const sink = new DirSink(out);
    for (const f of syntheticCheckpointFiles(ckpt)) await sink.writeStream(f.path, f.chunks);
    await sink.commit();
    const back = await openCheckpointDir(out);
    expect(back.config).toEqual(ckpt.config);
    expect(back.names()).toEqual(ckpt.names());
    const name = 'video_vision.encoder.layers.1.self_attn.q_proj.weight';
    expect(Array.from(await back.read(name))).toEqual(Array.from(await ckpt.read(name)));
    await back.close?.();
  });
});
