/**
 * From a question and image bytes to model inputs, through @huggingface/transformers built
 * from the package's own files (no hub): tokenizer.json + tokenizer_config.json, the chat
 * template from the manifest (transformers.js does not read chat_template.* files), and the
 * image processor named in preprocessor_config.json.
 *
 * `<image>` is expanded to `vision.visualTokens` copies in the prompt text before
 * tokenizing, as transformers' LlavaProcessor does.
 *
 * Several images (or video frames) go first in the user turn, in the order given, then the
 * question; the chat template decides what separates them (`<image>\n` per image in both the
 * LLaVA-1.5 and the llava-interleave templates), as it does in transformers. The sequence is
 * then [pre | image 0 | separator | image 1 | … | image N−1 | text]; the pruning layout's
 * visual block is the whole span from the first image token to the last (`imageBlocks`; trace.ts `TraceImage`).
 */
import * as T from '@huggingface/transformers';
import { readImageHeader } from './imageHeader';
import type { Manifest } from '../package/manifest';
import type { ConversationTurn, ImageFit } from './protocol';
import type { SequenceLayout } from '../prune/method';
import { EngineError } from '../common/errors';
import { sha256Hex } from '../package/hash';

/** pixel_values f32 [1,3,H,W], and the image's content key (SHA-256 of its bytes; null without WebCrypto). */
export interface PreparedPixels {
  data: Float32Array;
  dims: number[];
  key: string | null;
}

/** Where one image's tokens sit in the prompt ids: [start, start + count). */
export interface ImageBlock {
  start: number;
  count: number;
}

export interface PreparedText {
  prompt: string;
  inputIds: number[];
  /** Visual block = the span from the first image token to the last (one image: exactly its tokens). */
  layout: SequenceLayout;
  /** Each image's tokens, in prompt order (one entry per image). */
  images: ImageBlock[];
}

type ImageProcessorLike = (image: T.RawImage) => Promise<{ pixel_values: { data: Float32Array; dims: number[] } }>;

function json(texts: Map<string, string>, path: string): Record<string, unknown> {
  const t = texts.get(path);
  if (t === undefined)
    throw new EngineError('model', 'file-missing', `The package file ${path} is missing from the manifest.`, {
      file: path,
    });
  return JSON.parse(t) as Record<string, unknown>;
}

export class InputPipeline {
  readonly tokenizer: T.PreTrainedTokenizer;
  /** What part of a picture the processor keeps (the app draws patches over it). */
  readonly imageFit: ImageFit;
  private readonly processor: ImageProcessorLike;
  /** Pixel values of recent images by content (LRU, PIXEL_CACHE_IMAGES entries). */
  private readonly pixelCache = new Map<string, PreparedPixels>();

  constructor(
    private readonly manifest: Manifest,
    texts: Map<string, string>,
  ) {
    this.tokenizer = new T.PreTrainedTokenizer(json(texts, 'tokenizer.json'), json(texts, 'tokenizer_config.json'));
    // Flat preprocessor_config.json in packages; transformers-5's nested processor_config.json in fixtures.
    let cfg = texts.has('preprocessor_config.json')
      ? json(texts, 'preprocessor_config.json')
      : json(texts, 'processor_config.json');
    if (cfg.image_processor && typeof cfg.image_processor === 'object')
      cfg = cfg.image_processor as Record<string, unknown>;
    const named = String(cfg.image_processor_type ?? 'CLIPImageProcessor').replace(/Fast$/, '');
    // transformers' VideoLlavaImageProcessor is CLIP's (shortest-edge resize, centre crop, CLIP
    // mean/std, same keys); transformers.js has no class of that name.
    const type = SAME_PROCESSOR[named] ?? named;
    const Ctor = (T as unknown as Record<string, unknown>)[type];
    if (typeof Ctor !== 'function' || !(Ctor.prototype instanceof T.ImageProcessor || Ctor === T.ImageProcessor)) {
      throw new EngineError(
        'model',
        'manifest-invalid',
        `preprocessor_config.json names the image processor ${type}, which transformers.js does not have.`,
        { type },
      );
    }
    this.imageFit = imageFitOf(cfg);
    const proc = new (Ctor as new (c: Record<string, unknown>) => T.ImageProcessor)(cfg);
    this.processor = (img) => (proc as unknown as ImageProcessorLike)(img);
  }

  /**
   * Prompt → ids with each image token expanded, for `imageCount` images first in the user turn.
   * Throws 'empty-question' | 'question-too-long' | 'too-many-images' or, for video frames
   * (`noun` 'frame'), 'too-many-frames' — before any image is decoded.
   */
  prepareText(
    question: string,
    maxNewTokens: number,
    imageCount = 1,
    noun: 'image' | 'frame' = 'image',
    /** Earlier turns of a conversation (issue 15): the images go in the first user turn, each answer as the assistant's. */
    history: readonly ConversationTurn[] = [],
  ): PreparedText {
    const m = this.manifest;
    // Video-LLaVA: frames are one <video> in the turn, frames × tokensPerFrame tokens (video tower, CLS kept).
    const video = noun === 'frame' && m.video ? m.video : null;
    const V = video ? video.tokensPerFrame : m.vision.visualTokens;
    const token = video ? video.token : m.imageToken;
    const tokenId = video ? video.tokenId : m.imageTokenId;
    if (question.trim() === '')
      throw new EngineError(
        'input',
        'empty-question',
        history.length > 0 ? 'Please type a follow-up question.' : 'Please type a question about the image.',
        {},
      );
    if (!Number.isInteger(imageCount) || imageCount < 1) {
      throw new EngineError('input', 'no-image', 'Please add an image (or a video with at least one frame).', {
        imageCount,
      });
    }
    const images = video ? [{ type: 'video' }] : Array.from({ length: imageCount }, () => ({ type: 'image' }));
    const questions = [...history.map((t) => t.question), question];
    const messages = questions.flatMap((q, i) => [
      { role: 'user', content: [...(i === 0 ? images : []), { type: 'text', text: q }] },
      ...(i < history.length ? [{ role: 'assistant', content: history[i].answer }] : []),
    ]);
    const prompt = this.tokenizer.apply_chat_template(messages, {
      chat_template: m.chatTemplate,
      tokenize: false,
      add_generation_prompt: true,
    }) as string;
    const expanded = prompt.split(token).join(token.repeat(video ? V * imageCount : V));
    const inputIds = this.tokenizer.encode(expanded, { add_special_tokens: true }) as number[];
    const blocks = imageBlocks(inputIds, tokenId, V);
    if (blocks.length !== imageCount) {
      const count = inputIds.filter((id) => id === tokenId).length;
      throw new EngineError(
        'model',
        'manifest-invalid',
        `The chat template gave ${count} ${video ? 'video' : 'image'} tokens for ${imageCount} ${noun}${imageCount === 1 ? '' : 's'}, where the model expects ${V} per ${noun}.`,
        { count, imageCount },
      );
    }
    const limit = m.text.maxPositions;
    if (history.length > 0 && inputIds.length + maxNewTokens > limit) {
      throw new EngineError(
        'input',
        'conversation-too-long',
        `The conversation is too long for the model: its ${history.length + 1} questions, ${history.length} answer${history.length === 1 ? '' : 's'} and ${imageCount} ${noun}${imageCount === 1 ? '' : 's'} take ${inputIds.length} tokens and the next answer ${maxNewTokens} more, but the model's context holds ${limit}. Start a new conversation, or ask for a shorter answer.`,
        { promptTokens: inputIds.length, maxNewTokens, context: limit, turns: history.length + 1 },
      );
    }
    if (inputIds.length + maxNewTokens > limit) {
      const textTokens = inputIds.length - imageCount * V;
      const fit = Math.floor((limit - maxNewTokens - textTokens) / V);
      if (imageCount > 1 && fit >= 1) {
        throw new EngineError(
          'input',
          noun === 'frame' ? 'too-many-frames' : 'too-many-images',
          `${imageCount} ${noun}s take ${imageCount} × ${V} = ${imageCount * V} visual tokens; with ${textTokens} text tokens (the template's, separators included) and ${maxNewTokens} for the answer that is ${inputIds.length + maxNewTokens}, but the model's context holds ${limit}: at most ${fit} fit.`,
          { images: imageCount, tokensPerImage: V, textTokens, maxNewTokens, context: limit, fit },
        );
      }
      throw new EngineError(
        'input',
        'question-too-long',
        `The question is too long: the prompt takes ${inputIds.length} tokens and the answer ${maxNewTokens} more, but the model's context holds ${limit}.`,
        { promptTokens: inputIds.length, maxNewTokens, context: limit },
      );
    }
    const first = blocks[0].start;
    const last = blocks[blocks.length - 1];
    const spanEnd = last.start + last.count;
    return {
      prompt,
      inputIds,
      images: blocks,
      layout: { preLength: first, visualCount: spanEnd - first, textLength: inputIds.length - spanEnd },
    };
  }

  /** Image bytes → pixel_values f32 [1,3,H,W]. Checks the header before decoding. */
  async preparePixels(bytes: Uint8Array, name: string): Promise<PreparedPixels> {
    const header = readImageHeader(bytes, name);
    // Image work once per image: compare mode, repeated frames and asking again about the same
    // picture reuse its pixel values (keyed by the bytes' SHA-256; consumers only read them).
    const key = await pixelKey(bytes);
    const cached = key === null ? undefined : this.pixelCache.get(key);
    if (key !== null && cached) {
      this.pixelCache.delete(key);
      this.pixelCache.set(key, cached); // most recently used last
      return cached;
    }
    let image: T.RawImage;
    try {
      image = await T.RawImage.fromBlob(new Blob([bytes as BlobPart]));
    } catch (e) {
      throw new EngineError(
        'input',
        'truncated-image',
        `The image ${name} could not be decoded; it may be damaged (${(e as Error).message.split('\n')[0]}).`,
        { name, ...header },
      );
    }
    const out = await this.processor(image.rgb());
    const pixels = { data: out.pixel_values.data, dims: out.pixel_values.dims, key };
    if (key !== null) this.pixelCache.set(key, pixels);
    while (this.pixelCache.size > PIXEL_CACHE_IMAGES) this.pixelCache.delete(this.pixelCache.keys().next().value!);
    return pixels;
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }
}

/** Image processor classes transformers.js has under another name (the same preprocessing). */
const SAME_PROCESSOR: Record<string, string> = { VideoLlavaImageProcessor: 'CLIPImageProcessor' };

/** Images whose pixel values are kept (8 video frames + a few more; 336 px: 1.35 MB each). */
export const PIXEL_CACHE_IMAGES = 16;

/**
 * SHA-256 of the bytes (WebCrypto: browsers, workers and Node ≥ 20), hex; null where WebCrypto
 * is missing (a page served over plain http from another host is not a secure context): no cache.
 */
async function pixelKey(bytes: Uint8Array): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  return sha256Hex(bytes);
}

/**
 * Image blocks in the ids: maximal runs of the image token, each split into blocks of V (two
 * images with nothing between them form one run of 2V). A run that is not a multiple of V
 * gives no blocks, so the caller's count check fails.
 */
export function imageBlocks(ids: readonly number[], imageTokenId: number, V: number): ImageBlock[] {
  const out: ImageBlock[] = [];
  for (let i = 0; i < ids.length;) {
    if (ids[i] !== imageTokenId) {
      i++;
      continue;
    }
    let j = i;
    while (j < ids.length && ids[j] === imageTokenId) j++;
    if ((j - i) % V !== 0) return [];
    for (let s = i; s < j; s += V) out.push({ start: s, count: V });
    i = j;
  }
  return out;
}

/**
 * The processor's geometry as transformers.js applies it (image_processors_utils.js): a
 * `shortest_edge` (or integer) size keeps the aspect ratio, then `crop_size` is cut from the
 * centre when do_center_crop is set; a `{height, width}` size stretches.
 */
export function imageFitOf(cfg: Record<string, unknown>): ImageFit {
  const size = cfg.size as
    number | { shortest_edge?: number; longest_edge?: number; height?: number; width?: number } | undefined;
  const crop = cfg.crop_size as number | { height: number; width: number } | undefined;
  const cropHw: [number, number] | null =
    cfg.do_center_crop && crop !== undefined
      ? typeof crop === 'number'
        ? [crop, crop]
        : [crop.height, crop.width]
      : null;
  if (typeof size === 'number') {
    const longest = typeof cfg.max_size === 'number' ? cfg.max_size : size;
    return { kind: 'resize-crop', shortestEdge: size, longestEdge: longest, crop: cropHw };
  }
  if (size && (size.shortest_edge !== undefined || size.longest_edge !== undefined)) {
    return {
      kind: 'resize-crop',
      shortestEdge: size.shortest_edge ?? null,
      longestEdge: size.longest_edge ?? null,
      crop: cropHw,
    };
  }
  return { kind: 'stretch' }; // {height, width}: any crop after it is of an image already that size
}
