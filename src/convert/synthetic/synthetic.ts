/**
 * Synthetic checkpoints: named LLaVA shapes with seeded random weights generated on demand, one
 * tensor at a time, so a LLaVA-1.5-7B-shaped model converts without ever existing in full.
 *
 * Each shape is written as the transformers-5 config.json it would have, and parsed by the same
 * parseLlavaConfig as a real checkpoint. The tokenizer is the project's small Llama-2-shaped
 * fixture tokenizer (270 tokens, `<image>` = id 4) for every shape: tiny/small set vocabSize to
 * its size; the 7B and Qwen shapes keep their real vocab (32000 / 151936), of which the
 * tokenizer only ever produces the first 270 ids, so the head's size is real for benchmarks.
 *
 * The Video-LLaVA shapes (`video_llava` family: an image tower and a video tower of the same
 * architecture, every frame token kept, CLS included) carry the tokenizer of fixtures/
 * videollava-clip-112 instead: the same kind of Llama-2-shaped tokenizer with `<video>` added
 * (id 300), which the prompt's one `<video>` needs (`SyntheticShape.tokenizerFixture`).
 *
 * Values: uniform with std 0.02 (transformers' initializer_range; uniform is cheaper to draw than
 * a normal and bounded), norm weights 1 and norm biases 0, so activations stay finite. The answers
 * are noise and the manifest says `synthetic: true`.
 * Shapes marked `directInt4` (llava-1.5-7b, interleave-qwen-0.5b) make their Linear weights as
 * random int4 codes instead (same std, see syntheticInt4): a q4/q4f16 package skips floats and
 * the quantiser (the 7B q4 package in ~1.5 CPU-minutes instead of ~25), and `read` returns those
 * codes dequantised, so the checkpoint and fp32/fp16 forms hold the same model.
 */
import type { Checkpoint, SideFile } from '../checkpoint/checkpoint';
import { CLIP } from '../architectures/clip';
import { LLAMA } from '../architectures/llama';
import { QWEN2 } from '../architectures/qwen2';
import { VISION_ARCHITECTURES } from '../architectures/registry';
import { SIGLIP } from '../architectures/siglip';
import { parseLlavaConfig, type LlavaConfig } from '../checkpoint/config';
import { ConvertError } from '../../common/errors';
import { expectedTensors } from '../checkpoint/keys';
import { INT4_BLOCK, type Int4Weight, dequantizeInt4 } from '../quantize';
import { elementCount, type TensorDtype, type TensorInfo } from '../checkpoint/safetensors';
import { safetensorsChunks, tensorBytes, type WriterTensor } from './safetensorsWriter';
import { f16BitsToF32, f32ToF16Bits } from '../../common/float16';
import { mulberry32Words, nameSeed } from '../../common/random';

type Json = Record<string, unknown>;

/** The fixture tokenizer's size: tiny/small use it as vocab so every id has a token. */
export const SYNTHETIC_TOKENIZER_VOCAB = 270;
const IMAGE_TOKEN_ID = 4;
/** The fixture whose tokenizer files a shape carries unless it names another. */
export const DEFAULT_TOKENIZER_FIXTURE = 'open-llava15-deep';
/** fixtures/videollava-clip-112's tokenizer (make_videollava.py): 300 tokens, `<image>` 4, then `<video>` 300. */
const VIDEO_TOKENIZER_FIXTURE = 'videollava-clip-112';
const VIDEO_TOKEN_ID = 300;
const VIDEO_TOKENIZER_VOCAB = 301;

const llama = LLAMA.syntheticConfig;
/** The synthetic CLIP towers: ViT-L/14's patch at LLaVA-1.5's 336 px unless given. */
function clipVision(dims: { hidden: number; layers: number; heads: number; mlp: number; imageSize?: number }): Json {
  return CLIP.syntheticConfig({ ...dims, imageSize: dims.imageSize ?? 336, patchSize: 14 });
}
function llava15(text: Json, vision: Json, imageSeqLength = 576): Json {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: IMAGE_TOKEN_ID,
    image_seq_length: imageSeqLength,
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
    tie_word_embeddings: false,
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    text_config: text,
    vision_config: vision,
  };
}

/**
 * Video-LLaVA (`VideoLlavaForConditionalGeneration`, LanguageBind/Video-LLaVA-7B-hf's config
 * fields): `image_tower` and `video_tower` both of `vision`'s shape; frames keep every token.
 */
function videoLlava(text: Json, vision: Json, imageSeqLength: number, videoSeqLength: number): Json {
  return {
    architectures: ['VideoLlavaForConditionalGeneration'],
    model_type: 'video_llava',
    image_token_index: IMAGE_TOKEN_ID,
    video_token_index: VIDEO_TOKEN_ID,
    image_seq_length: imageSeqLength,
    video_seq_length: videoSeqLength,
    projector_hidden_act: 'gelu',
    multimodal_projector_bias: true,
    tie_word_embeddings: false,
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    text_config: text,
    vision_config: vision,
  };
}

export interface SyntheticShape {
  description: string;
  /** fixtures/<name>/ whose tokenizer.json, tokenizer_config.json and chat_template.jinja it carries (default open-llava15-deep). */
  tokenizerFixture?: string;
  /**
   * Linear weights are generated as int4 codes (see syntheticInt4): q4/q4f16 packages skip the
   * floats and the quantiser, and `read` returns the same weights dequantised, so every format
   * of the shape holds one model. For the big benchmark shapes.
   */
  directInt4?: boolean;
  config: Json;
  imageProcessor: Json;
}

export const SYNTHETIC_SHAPES: Record<string, SyntheticShape> = {
  tiny: {
    description: 'CLIP 336/14 (576 visual tokens, width 32, 2 layers) + LLaMA (hidden 64, 4 layers, GQA 4/2 heads)',
    config: llava15(
      llama({ hidden: 64, layers: 4, heads: 4, kvHeads: 2, mlp: 128, vocab: SYNTHETIC_TOKENIZER_VOCAB }),
      clipVision({ hidden: 32, layers: 2, heads: 2, mlp: 64 }),
    ),
    imageProcessor: CLIP.imageProcessor(336),
  },
  'deep-tiny': {
    description:
      "The app's bundled model: CLIP 336/14 (576 visual tokens, width 32, 2 layers) + LLaMA with LLaVA-1.5's depth (hidden 64, 32 layers, GQA 4/2 heads), so the pruning schedules apply unscaled",
    config: llava15(
      llama({ hidden: 64, layers: 32, heads: 4, kvHeads: 2, mlp: 128, vocab: SYNTHETIC_TOKENIZER_VOCAB }),
      clipVision({ hidden: 32, layers: 2, heads: 2, mlp: 64 }),
    ),
    imageProcessor: CLIP.imageProcessor(336),
  },
  small: {
    description: 'CLIP 336/14 (width 128, 4 layers) + LLaMA (hidden 512, 8 layers, 8 heads)',
    config: llava15(
      llama({ hidden: 512, layers: 8, heads: 8, kvHeads: 8, mlp: 1376, vocab: SYNTHETIC_TOKENIZER_VOCAB }),
      clipVision({ hidden: 128, layers: 4, heads: 4, mlp: 512 }),
    ),
    imageProcessor: CLIP.imageProcessor(336),
  },
  'llava-1.5-7b': {
    description:
      'LLaVA-1.5-7B: CLIP ViT-L/336 (1024, 24 layers) + Vicuna-7B (4096, 32 layers, vocab 32000), projector 1024→4096→4096',
    directInt4: true,
    config: llava15(
      llama({ hidden: 4096, layers: 32, heads: 32, kvHeads: 32, mlp: 11008, vocab: 32000 }),
      clipVision({ hidden: 1024, layers: 24, heads: 16, mlp: 4096 }),
    ),
    imageProcessor: CLIP.imageProcessor(336),
  },
  'video-llava-7b': {
    description:
      "Video-LLaVA-7B (VideoLlavaForConditionalGeneration): an image tower and a video tower, each CLIP ViT-L/14 at 224 px (1024, 24 layers; an image 256 tokens, a frame 257 with its CLS, so 8 frames = 2056) + the same Vicuna-7B as llava-1.5-7b (same tensor names, so the same seeded weights; vocab 32000, not the real 32064: the tokenizer's ids end at 300), projector 1024→4096→4096",
    directInt4: true,
    tokenizerFixture: VIDEO_TOKENIZER_FIXTURE,
    config: videoLlava(
      llama({ hidden: 4096, layers: 32, heads: 32, kvHeads: 32, mlp: 11008, vocab: 32000 }),
      clipVision({ hidden: 1024, layers: 24, heads: 16, mlp: 4096, imageSize: 224 }),
      256,
      8 * 257,
    ),
    imageProcessor: CLIP.imageProcessor(224),
  },
  'video-llava-tiny': {
    description:
      'Video-LLaVA, tiny and quick: two CLIP 112/14 towers (width 32, 2 layers; an image 64 tokens, a frame 65 with its CLS) + LLaMA (hidden 64, 4 layers, GQA 4/2 heads)',
    tokenizerFixture: VIDEO_TOKENIZER_FIXTURE,
    config: videoLlava(
      llama({ hidden: 64, layers: 4, heads: 4, kvHeads: 2, mlp: 128, vocab: VIDEO_TOKENIZER_VOCAB }),
      clipVision({ hidden: 32, layers: 2, heads: 2, mlp: 64, imageSize: 112 }),
      64,
      8 * 65,
    ),
    imageProcessor: CLIP.imageProcessor(112),
  },
  'interleave-qwen-0.5b': {
    description:
      'LLaVA-Interleave-Qwen-0.5B: SigLIP so400m 384/14 (1152, 26 layers, 729 tokens) + Qwen2-0.5B (896, 24 layers, GQA 14/2, tied)',
    directInt4: true,
    config: {
      architectures: ['LlavaForConditionalGeneration'],
      model_type: 'llava',
      image_token_index: IMAGE_TOKEN_ID,
      image_seq_length: 729,
      projector_hidden_act: 'gelu',
      multimodal_projector_bias: true,
      vision_feature_layer: -1,
      vision_feature_select_strategy: 'full',
      text_config: QWEN2.syntheticConfig({ hidden: 896, layers: 24, heads: 14, kvHeads: 2, mlp: 4864, vocab: 151936 }),
      vision_config: SIGLIP.syntheticConfig({
        hidden: 1152,
        layers: 26,
        heads: 16,
        mlp: 4304,
        imageSize: 384,
        patchSize: 14,
      }),
    },
    imageProcessor: SIGLIP.imageProcessor(384),
  },
  'many-heads-112': {
    description:
      "For the GPU-memory refusal (engine/memoryLimits.ts), tiny and quick: CLIP 112/14 (64 visual tokens an image, width 32, 2 layers) + LLaMA with 64 attention heads of 4 (hidden 256, 1 layer, GQA 64/2, 4096 positions): one layer's prefill scores, 64 × L² × 4 bytes, pass SwiftShader's 1 GiB binding from L = 2048 tokens (33 images), well inside the context",
    config: llava15(
      llama({ hidden: 256, layers: 1, heads: 64, kvHeads: 2, mlp: 128, vocab: SYNTHETIC_TOKENIZER_VOCAB }),
      clipVision({ hidden: 32, layers: 2, heads: 2, mlp: 64, imageSize: 112 }),
      64,
    ),
    imageProcessor: CLIP.imageProcessor(112),
  },
};

export function syntheticShape(name: string): SyntheticShape {
  const shape = SYNTHETIC_SHAPES[name];
  if (!shape)
    throw new ConvertError(
      'unsupported',
      name,
      `unknown synthetic shape (known: ${Object.keys(SYNTHETIC_SHAPES).join(', ')})`,
    );
  return shape;
}

/** The fixture folder (under fixtures/) whose tokenizer files shape `name` carries. */
export function syntheticTokenizerFixture(name: string): string {
  return syntheticShape(name).tokenizerFixture ?? DEFAULT_TOKENIZER_FIXTURE;
}

/** The tokenizer files every synthetic model carries (the project's fixture tokenizer). */
export interface SyntheticTokenizer {
  tokenizerJson: Uint8Array;
  tokenizerConfigJson: Uint8Array;
  chatTemplate: string;
}

// A tensor's values are the mulberry32 stream (common/random.ts) seeded by nameSeed(name, seed): they
// depend only on (seed, name), so tensors can be generated in any order and again, identically.

/** Uniform values of standard deviation `std` from the mulberry32 stream at `state`, drawn a chunk at a time. */
function fillUniform(out: Float32Array, state: number, std: number): void {
  const scale = (std * Math.sqrt(12)) / 4294967296; // uniform on [-a, a] has std a/√3; a = std·√3
  const offset = -std * Math.sqrt(3);
  const words = new Uint32Array(Math.min(out.length, 1 << 16));
  let s = state;
  for (let at = 0; at < out.length; at += words.length) {
    const chunk = out.length - at < words.length ? words.subarray(0, out.length - at) : words;
    s = mulberry32Words(chunk, s);
    for (let i = 0; i < chunk.length; i++) out[at + i] = chunk[i] * scale + offset;
  }
}

/** Norm scales are 1 and norm shifts 0 (as a freshly initialised model has them). */
function constantFor(name: string): number | null {
  if (/(layernorm|layer_norm\d?|layrnorm|norm)\.weight$/.test(name)) return 1;
  if (/(layernorm|layer_norm\d?|layrnorm)\.bias$/.test(name)) return 0;
  return null;
}

export const INITIALIZER_STD = 0.02;

/**
 * Direct int4 weights: codes uniform on 0..15, zero points alternating 7 and 8 by block (so the
 * weights average 0 over a row), one scale for all blocks chosen so the std is INITIALIZER_STD
 * (codes uniform on 16 values have std √((16²−1)/12) ≈ 4.61 steps), rounded to f16 so q4 and
 * q4f16 packages dequantise to the very same values.
 */
export const SYNTHETIC_INT4_SCALE = f16BitsToF32(f32ToF16Bits(INITIALIZER_STD / Math.sqrt((16 * 16 - 1) / 12)));
const LINEAR_WEIGHT = /(_proj|\.fc1|\.fc2|linear_1|linear_2|^lm_head)\.weight$/;

/** int4 weight [N, K] (K a multiple of the block) with random codes from `state`. */
export function syntheticInt4(n: number, k: number, state: number, halfScales: boolean): Int4Weight {
  const blocks = k / INT4_BLOCK;
  const packed = new Uint8Array(n * blocks * (INT4_BLOCK / 2));
  mulberry32Words(new Uint32Array(packed.buffer), state); // 16 bytes a block: always whole words
  const scales = halfScales
    ? new Uint16Array(n * blocks).fill(f32ToF16Bits(SYNTHETIC_INT4_SCALE))
    : new Float32Array(n * blocks).fill(SYNTHETIC_INT4_SCALE);
  const zpStride = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(n * zpStride).fill(0x87); // even block 7, odd block 8
  if (blocks % 2) for (let row = 0; row < n; row++) zeroPoints[row * zpStride + zpStride - 1] = 0x07; // no odd block
  return { n, k, blocks, packed, scales, zeroPoints };
}

export class SyntheticCheckpoint implements Checkpoint {
  readonly layout = 'v5' as const;
  readonly synthetic = true;
  readonly id: string;
  readonly config: LlavaConfig;
  readonly chatTemplate: string;
  readonly files: Record<SideFile, Uint8Array>;
  /** transformers-5 side files for `--format checkpoint`. */
  readonly processorConfigJson: Uint8Array;
  private readonly shapes: Map<string, number[]>;

  constructor(
    readonly shapeName: string,
    tokenizer: SyntheticTokenizer,
    readonly seed = 0,
  ) {
    const shape = syntheticShape(shapeName);
    const enc = new TextEncoder();
    this.id = `synthetic-${shapeName}`;
    this.config = parseLlavaConfig(shape.config, '<image>');
    if (this.config.video) checkVideoToken(tokenizer.tokenizerJson, this.config.video, shapeName);
    this.chatTemplate = tokenizer.chatTemplate;
    this.files = {
      'config.json': enc.encode(JSON.stringify(shape.config, null, 2) + '\n'),
      'tokenizer.json': tokenizer.tokenizerJson,
      'tokenizer_config.json': tokenizer.tokenizerConfigJson,
      'preprocessor_config.json': enc.encode(JSON.stringify(shape.imageProcessor, null, 2) + '\n'),
    };
    const video = this.config.video;
    this.processorConfigJson = enc.encode(
      JSON.stringify(
        {
          image_processor: shape.imageProcessor,
          image_token: '<image>',
          ...(video ? { video_token: video.token } : {}),
          num_additional_image_tokens: VISION_ARCHITECTURES[this.config.vision.arch].embeddings.classToken ? 1 : 0,
          patch_size: this.config.vision.patchSize,
          processor_class: video ? 'VideoLlavaProcessor' : 'LlavaProcessor',
          vision_feature_select_strategy: this.config.vision.selectStrategy,
        },
        null,
        2,
      ) + '\n',
    );
    this.shapes = expectedTensors(this.config);
  }

  names(): string[] {
    return [...this.shapes.keys()].sort();
  }

  info(name: string): TensorInfo | undefined {
    const shape = this.shapes.get(name);
    return shape && { dtype: 'F32', shape: [...shape] };
  }

  /** Parameters in all (for reports). */
  parameterCount(): number {
    let n = 0;
    for (const shape of this.shapes.values()) n += elementCount(shape);
    return n;
  }

  private directInt4(name: string): [number, number] | undefined {
    const shape = this.shapes.get(name);
    if (!syntheticShape(this.shapeName).directInt4 || !shape || shape.length !== 2 || !LINEAR_WEIGHT.test(name))
      return undefined;
    return shape[1] % INT4_BLOCK === 0 ? [shape[0], shape[1]] : undefined;
  }

  /** TensorSource.readInt4: Linear weights of `directInt4` shapes, generated as codes. */
  async readInt4(name: string, opts: { blockSize: number; halfScales: boolean }): Promise<Int4Weight | undefined> {
    const nk = this.directInt4(name);
    if (!nk || opts.blockSize !== INT4_BLOCK) return undefined;
    return syntheticInt4(nk[0], nk[1], nameSeed(name, this.seed), opts.halfScales);
  }

  async read(name: string): Promise<Float32Array> {
    const shape = this.shapes.get(name);
    if (!shape) throw new ConvertError('missing-tensor', this.id, `no canonical tensor "${name}"`);
    const nk = this.directInt4(name);
    if (nk) return dequantizeInt4(syntheticInt4(nk[0], nk[1], nameSeed(name, this.seed), false));
    const out = new Float32Array(elementCount(shape));
    const constant = constantFor(name);
    if (constant !== null) out.fill(constant);
    else fillUniform(out, nameSeed(name, this.seed), INITIALIZER_STD);
    return out;
  }
}

/**
 * A Video-LLaVA shape needs `<video>` in its tokenizer at the config's `video_token_index`
 * (checkpoint.ts finds the token's string the same way): otherwise the prompt's one `<video>`
 * would not be one token, and the package would fail only when asked about a video.
 */
function checkVideoToken(tokenizerJson: Uint8Array, video: { tokenId: number; token: string }, shape: string): void {
  let added: unknown;
  try {
    added = (JSON.parse(new TextDecoder().decode(tokenizerJson)) as { added_tokens?: unknown }).added_tokens;
  } catch {
    added = undefined;
  }
  const hit = Array.isArray(added)
    ? (added as { id?: unknown; content?: unknown }[]).find((t) => t.id === video.tokenId)
    : undefined;
  if (hit?.content !== video.token)
    throw new ConvertError(
      'bad-value',
      'tokenizer.json',
      `the ${shape} shape needs "${video.token}" as added token ${video.tokenId} (config.json "video_token_index"); ` +
        `this tokenizer has ${hit ? JSON.stringify(hit.content) : 'none'} there — give it fixtures/${syntheticTokenizerFixture(shape)}'s tokenizer`,
    );
}

/**
 * Canonical → the key transformers 5.17 save_pretrained writes (the legacy `language_model.model.*`
 * form; Video-LLaVA's towers as `image_tower.*` and `video_tower.*`, as fixtures/videollava-clip-112 has them).
 */
export function savedKey(canonical: string, family: LlavaConfig['family'] = 'llava'): string {
  if (canonical.startsWith('text.')) return `language_model.model.${canonical.slice(5)}`;
  if (canonical.startsWith('lm_head.')) return `language_model.${canonical}`;
  if (canonical.startsWith('vision.'))
    return `${family === 'video_llava' ? 'image_tower' : 'vision_tower'}.${canonical.slice(7)}`;
  if (canonical.startsWith('video_vision.')) return `video_tower.${canonical.slice(13)}`;
  if (canonical.startsWith('projector.')) return `multi_modal_projector.${canonical.slice(10)}`;
  throw new ConvertError('unexpected-tensor', 'synthetic', `no saved key for "${canonical}"`);
}

export interface CheckpointFileStream {
  path: string;
  chunks: AsyncIterable<Uint8Array>;
}

/**
 * The files of an HF-layout checkpoint folder as transformers 5 writes it: config.json,
 * tokenizer files, processor_config.json (nested), chat_template.jinja, and the weights as
 * model.safetensors or, above `maxShardBytes`, shards plus model.safetensors.index.json.
 * Tensors are generated while the file streams out.
 */
export function syntheticCheckpointFiles(
  ckpt: SyntheticCheckpoint,
  tensorDtype: TensorDtype = 'F32',
  maxShardBytes = 5_000_000_000,
): CheckpointFileStream[] {
  const once = (bytes: Uint8Array): AsyncIterable<Uint8Array> => ({
    async *[Symbol.asyncIterator]() {
      yield bytes;
    },
  });
  const enc = new TextEncoder();
  const out: CheckpointFileStream[] = [
    { path: 'config.json', chunks: once(ckpt.files['config.json']) },
    { path: 'tokenizer.json', chunks: once(ckpt.files['tokenizer.json']) },
    { path: 'tokenizer_config.json', chunks: once(ckpt.files['tokenizer_config.json']) },
    { path: 'processor_config.json', chunks: once(ckpt.processorConfigJson) },
    { path: 'chat_template.jinja', chunks: once(enc.encode(ckpt.chatTemplate)) },
  ];
  // Greedy sharding in sorted key order, as save_pretrained does.
  const tensors = ckpt
    .names()
    .map((name) => ({
      name: savedKey(name, ckpt.config.family),
      canonical: name,
      dtype: tensorDtype,
      shape: ckpt.info(name)!.shape,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const shards: (typeof tensors)[] = [[]];
  let current = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    if (current > 0 && current + bytes > maxShardBytes) {
      shards.push([]);
      current = 0;
    }
    shards[shards.length - 1].push(t);
    current += bytes;
  }
  const read = (t: WriterTensor) => ckpt.read((t as (typeof tensors)[number]).canonical);
  if (shards.length === 1) {
    out.push({ path: 'model.safetensors', chunks: safetensorsChunks(shards[0], read) });
    return out;
  }
  const weightMap: Record<string, string> = {};
  const pad = (n: number) => String(n).padStart(5, '0');
  shards.forEach((group, i) => {
    const path = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    for (const t of group) weightMap[t.name] = path;
    out.push({ path, chunks: safetensorsChunks(group, read) });
  });
  const totalSize = tensors.reduce((n, t) => n + tensorBytes(t), 0);
  out.push({
    path: 'model.safetensors.index.json',
    chunks: once(
      enc.encode(JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n'),
    ),
  });
  return out;
}
