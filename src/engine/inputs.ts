/**
 * From a question and image bytes to model inputs, through @huggingface/transformers built
 * from the package's own files (no hub): tokenizer.json + tokenizer_config.json, the chat
 * template from the manifest (transformers.js does not read chat_template.* files), and the
 * image processor named in preprocessor_config.json.
 *
 * `<image>` is expanded to `vision.visualTokens` copies in the prompt text before
 * tokenizing, as transformers' LlavaProcessor does.
 */
import * as T from '@huggingface/transformers';
import { EngineError } from './errors';
import { readImageHeader } from './imageHeader';
import type { Manifest } from './manifest';
import type { SequenceLayout } from '../prune/method';

export interface PreparedText { prompt: string; inputIds: number[]; layout: SequenceLayout }

type ImageProcessorLike = (image: T.RawImage) => Promise<{ pixel_values: { data: Float32Array; dims: number[] } }>;

function json(texts: Map<string, string>, path: string): Record<string, unknown> {
  const t = texts.get(path);
  if (t === undefined) throw new EngineError('model', 'file-missing', `The package file ${path} is missing from the manifest.`, { file: path });
  return JSON.parse(t) as Record<string, unknown>;
}

export class InputPipeline {
  readonly tokenizer: T.PreTrainedTokenizer;
  private readonly processor: ImageProcessorLike;

  constructor(private readonly manifest: Manifest, texts: Map<string, string>) {
    this.tokenizer = new T.PreTrainedTokenizer(json(texts, 'tokenizer.json'), json(texts, 'tokenizer_config.json'));
    // Flat preprocessor_config.json in packages; transformers-5's nested processor_config.json in fixtures.
    let cfg = texts.has('preprocessor_config.json') ? json(texts, 'preprocessor_config.json') : json(texts, 'processor_config.json');
    if (cfg.image_processor && typeof cfg.image_processor === 'object') cfg = cfg.image_processor as Record<string, unknown>;
    const type = String(cfg.image_processor_type ?? 'CLIPImageProcessor').replace(/Fast$/, '');
    const Ctor = (T as unknown as Record<string, unknown>)[type];
    if (typeof Ctor !== 'function' || !(Ctor.prototype instanceof T.ImageProcessor || Ctor === T.ImageProcessor)) {
      throw new EngineError('model', 'manifest-invalid', `preprocessor_config.json names the image processor ${type}, which transformers.js does not have.`, { type });
    }
    const proc = new (Ctor as new (c: Record<string, unknown>) => T.ImageProcessor)(cfg);
    this.processor = (img) => (proc as unknown as ImageProcessorLike)(img);
  }

  /** Prompt → ids with the image token expanded. Throws 'empty-question' | 'question-too-long'. */
  prepareText(question: string, maxNewTokens: number): PreparedText {
    const m = this.manifest;
    if (question.trim() === '') throw new EngineError('input', 'empty-question', 'Please type a question about the image.', {});
    const prompt = this.tokenizer.apply_chat_template(
      [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
      { chat_template: m.chatTemplate, tokenize: false, add_generation_prompt: true },
    ) as string;
    const expanded = prompt.split(m.imageToken).join(m.imageToken.repeat(m.vision.visualTokens));
    const inputIds = this.tokenizer.encode(expanded, { add_special_tokens: true }) as number[];
    const first = inputIds.indexOf(m.imageTokenId);
    const count = inputIds.filter((id) => id === m.imageTokenId).length;
    if (first < 0 || count !== m.vision.visualTokens || inputIds[first + count - 1] !== m.imageTokenId) {
      throw new EngineError('model', 'manifest-invalid',
        `The chat template gave ${count} image tokens where the model expects ${m.vision.visualTokens} in one block.`, { count });
    }
    const limit = m.text.maxPositions;
    if (inputIds.length + maxNewTokens > limit) {
      throw new EngineError('input', 'question-too-long',
        `The question is too long: the prompt takes ${inputIds.length} tokens and the answer ${maxNewTokens} more, but the model's context holds ${limit}.`,
        { promptTokens: inputIds.length, maxNewTokens, context: limit });
    }
    return { prompt, inputIds, layout: { preLength: first, visualCount: count, textLength: inputIds.length - first - count } };
  }

  /** Image bytes → pixel_values f32 [1,3,H,W]. Checks the header before decoding. */
  async preparePixels(bytes: Uint8Array, name: string): Promise<{ data: Float32Array; dims: number[] }> {
    const header = readImageHeader(bytes, name);
    let image: T.RawImage;
    try {
      image = await T.RawImage.fromBlob(new Blob([bytes as BlobPart]));
    } catch (e) {
      throw new EngineError('input', 'truncated-image', `The image ${name} could not be decoded; it may be damaged (${(e as Error).message.split('\n')[0]}).`, { name, ...header });
    }
    const out = await this.processor(image.rgb());
    return { data: out.pixel_values.data, dims: out.pixel_values.dims };
  }

  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }
}
