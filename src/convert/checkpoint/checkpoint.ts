/**
 * A checkpoint, normalised: canonical tensor names (keys.ts), one config shape (config.ts),
 * and the side files the package copies, whichever generation and key layout it came in.
 */
import { BlobByteSource, MemoryByteSource, type ByteSource } from './bytesource';
import { isObject, parseLlavaConfig, type LlavaConfig } from './config';
import { ConvertError } from '../../common/errors';
import { canonicalName, expectedTensors, isIgnoredTensor } from './keys';
import { familyArchitecture } from '../architectures/registry';
import { SafetensorsFile, type TensorEntry, type TensorInfo } from './safetensors';

/** The files the package carries from the checkpoint (preprocessor_config.json in the flat form transformers.js reads). */
export type SideFile = 'config.json' | 'tokenizer.json' | 'tokenizer_config.json' | 'preprocessor_config.json';

export interface Checkpoint {
  /** Hub id or folder name: goes into manifest.source.id and manifest.name. */
  id: string;
  /** 'legacy': llava-hf hub files; 'v5': transformers-5 save_pretrained files. */
  layout: 'legacy' | 'v5';
  /** Random weights made by the project (synthetic.ts): the manifest says so, and so does the UI. */
  synthetic?: boolean;
  config: LlavaConfig;
  chatTemplate: string;
  files: Record<SideFile, Uint8Array>;
  /** Canonical tensor names, sorted (lm_head.weight absent when config.text.tieWordEmbeddings). */
  names(): string[];
  info(name: string): TensorInfo | undefined;
  /** One tensor widened to f32, read from storage on demand (never the whole checkpoint in memory). */
  read(name: string): Promise<Float32Array>;
  /** Releases file handles (Node); optional so in-memory checkpoints need not care. */
  close?(): Promise<void>;
}

/**
 * Where a checkpoint's files are: a local folder (checkpoint.node.ts), files a person picked in
 * the browser, or a hub URL base. `open` returns null when the file does not exist.
 */
export interface CheckpointFolder {
  /** Folder or hub id, for Checkpoint.id. */
  readonly id: string;
  open(path: string): Promise<ByteSource | null>;
}

/** Canonical name → where its bytes are. */
interface TensorLocation {
  file: SafetensorsFile;
  sourceKey: string;
  entry: TensorEntry;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function readWhole(folder: CheckpointFolder, path: string): Promise<Uint8Array | null> {
  const source = await folder.open(path);
  if (!source) return null;
  try {
    return (await source.read(0, source.size)).slice();
  } finally {
    await source.close?.();
  }
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (err) {
    throw new ConvertError('bad-json', file, `not valid JSON (${(err as Error).message})`);
  }
}

async function requireFile(folder: CheckpointFolder, path: string): Promise<Uint8Array> {
  const bytes = await readWhole(folder, path);
  if (!bytes) throw new ConvertError('missing-file', path, `file not found in ${folder.id}`);
  return bytes;
}

/**
 * The image processor in the flat form transformers.js reads as preprocessor_config.json.
 * llava-hf repos ship it flat; transformers 5 nests it as processor_config.json.image_processor.
 */
interface ImageProcessorFiles {
  bytes: Uint8Array;
  layout: 'legacy' | 'v5';
  processor: Record<string, unknown> | null;
  /** Where its keys are named in messages: the flat file, or the nested object. */
  file: string;
  keyPrefix: string;
}

async function readImageProcessor(folder: CheckpointFolder): Promise<ImageProcessorFiles> {
  const processorBytes = await readWhole(folder, 'processor_config.json');
  const processor = processorBytes ? parseJson(processorBytes, 'processor_config.json') : null;
  // A nested image_processor marks the transformers-5 generation, even when a flat copy sits beside it.
  const nested = isObject(processor) && isObject(processor.image_processor);
  const flat = await readWhole(folder, 'preprocessor_config.json');
  if (flat) {
    parseJson(flat, 'preprocessor_config.json');
    return {
      bytes: flat,
      layout: nested ? 'v5' : 'legacy',
      processor: isObject(processor) ? processor : null,
      file: 'preprocessor_config.json',
      keyPrefix: '',
    };
  }
  if (nested) {
    const text = JSON.stringify(processor.image_processor, null, 2) + '\n';
    return {
      bytes: encoder.encode(text),
      layout: 'v5',
      processor: processor as Record<string, unknown>,
      file: 'processor_config.json',
      keyPrefix: 'image_processor.',
    };
  }
  throw new ConvertError(
    'missing-file',
    'preprocessor_config.json',
    'no image processor config (looked for preprocessor_config.json and processor_config.json with "image_processor")',
  );
}

/** {height, width} or a number (older square form) → [h, w]; anything else → null. */
function sizeOf(value: unknown): [number, number] | null {
  if (typeof value === 'number') return [value, value];
  if (isObject(value) && typeof value.height === 'number' && typeof value.width === 'number')
    return [value.height, value.width];
  return null;
}

/**
 * The pixel_values size the image processor gives, as transformers' CLIP/SigLIP processors
 * make it: the center crop when cropping, else a fixed {height, width} resize. A
 * shortest_edge resize without a crop keeps the aspect ratio: no fixed size (null).
 */
function processedSize(ip: Record<string, unknown>): { size: [number, number]; key: string } | null {
  if (ip.do_center_crop !== false && ip.crop_size != null) {
    // CLIPImageProcessor crops unless told not to
    const crop = sizeOf(ip.crop_size);
    if (crop) return { size: crop, key: 'crop_size' };
  }
  const size = sizeOf(ip.size);
  return size ? { size, key: 'size' } : null;
}

/**
 * Checks the processor against the model where transformers would stop at run time: pixel
 * values of another size than vision_config.image_size (CLIP: "Input image size … doesn't match
 * model"; SigLIP: a shape error), and an <image> expansion (patch_size,
 * num_additional_image_tokens, vision_feature_select_strategy of processor_config.json) that
 * differs from the features the model yields ("Image features and image tokens do not match").
 */
function checkProcessorAgainstModel(config: LlavaConfig, image: ImageProcessorFiles): void {
  const ip = parseJson(image.bytes, image.file);
  if (!isObject(ip)) throw new ConvertError('bad-json', image.file, 'expected a JSON object');
  const processed = processedSize(ip);
  const px = config.vision.imageSize;
  if (processed && (processed.size[0] !== px || processed.size[1] !== px)) {
    throw new ConvertError(
      'unsupported',
      image.file,
      `"${image.keyPrefix}${processed.key}" gives ${processed.size[0]}×${processed.size[1]} pixel values but config.json "vision_config.image_size" is ${px}: ` +
        "the tower's position embeddings fit that size only (transformers stops on it too)",
    );
  }
  const p = image.processor;
  if (!p || p.patch_size == null || p.vision_feature_select_strategy == null) return; // no expansion by the processor
  const patch = p.patch_size;
  const extra = p.num_additional_image_tokens ?? familyArchitecture(config.family).processorAdditionalTokens;
  const strategy = p.vision_feature_select_strategy;
  if (typeof patch !== 'number' || !Number.isInteger(patch) || patch < 1)
    throw new ConvertError(
      'bad-value',
      'processor_config.json',
      `"patch_size" must be a positive integer, got ${JSON.stringify(patch)}`,
    );
  if (typeof extra !== 'number' || !Number.isInteger(extra))
    throw new ConvertError(
      'bad-value',
      'processor_config.json',
      `"num_additional_image_tokens" must be an integer, got ${JSON.stringify(extra)}`,
    );
  const [h, w] = processed?.size ?? [px, px];
  const expanded = Math.floor(h / patch) * Math.floor(w / patch) + extra - (strategy === 'default' ? 1 : 0);
  // VideoLlavaProcessor expands <video> to frames × (grid² + num_additional_image_tokens), no strategy.
  const perFrame = Math.floor(h / patch) * Math.floor(w / patch) + extra;
  if (config.video && perFrame !== config.video.tokensPerFrame) {
    throw new ConvertError(
      'unsupported',
      'processor_config.json',
      `"patch_size" ${patch} and "num_additional_image_tokens" ${extra} expand <video> to ${perFrame} tokens a frame ` +
        `but the video tower yields ${config.video.tokensPerFrame} (every token of ${config.vision.arch} ${px}px / patch ${config.vision.patchSize}); ` +
        'transformers stops on this ("Video features and video tokens do not match")',
    );
  }
  if (expanded !== config.imageSeqLength) {
    throw new ConvertError(
      'unsupported',
      'processor_config.json',
      `"patch_size" ${patch}, "num_additional_image_tokens" ${extra} and "vision_feature_select_strategy" ${JSON.stringify(strategy)} expand <image> to ${expanded} tokens ` +
        `but the model yields ${config.imageSeqLength} image features per image (config.json: ${config.vision.arch} ${px}px / patch ${config.vision.patchSize}, ${JSON.stringify(config.vision.selectStrategy)}); ` +
        'transformers stops on this ("Image features and image tokens do not match")',
    );
  }
}

/** chat_template.jinja (transformers 5) → chat_template.json → tokenizer_config.json's chat_template. */
async function readChatTemplate(folder: CheckpointFolder, tokenizerConfig: Record<string, unknown>): Promise<string> {
  const jinja = await readWhole(folder, 'chat_template.jinja');
  if (jinja) return decoder.decode(jinja);
  const json = await readWhole(folder, 'chat_template.json');
  if (json) {
    const parsed = parseJson(json, 'chat_template.json');
    if (isObject(parsed) && typeof parsed.chat_template === 'string') return parsed.chat_template;
    throw new ConvertError('missing-key', 'chat_template.json', 'missing key "chat_template"');
  }
  const fromTokenizer = tokenizerConfig.chat_template;
  if (typeof fromTokenizer === 'string') return fromTokenizer;
  // Older tokenizers may hold a list of named templates.
  if (Array.isArray(fromTokenizer)) {
    const named = fromTokenizer.find((t) => isObject(t) && t.name === 'default') ?? fromTokenizer[0];
    if (isObject(named) && typeof named.template === 'string') return named.template;
  }
  throw new ConvertError(
    'missing-file',
    'chat_template.jinja',
    'no chat template (looked in chat_template.jinja, chat_template.json and tokenizer_config.json)',
  );
}

/** The image (or video) token's string: the added token with the config's id. */
function findImageToken(
  tokenizer: unknown,
  imageTokenId: number,
  processor: Record<string, unknown> | null,
  what: 'image' | 'video' = 'image',
  key = 'image_token_index',
): string {
  if (isObject(tokenizer) && Array.isArray(tokenizer.added_tokens)) {
    const hit = tokenizer.added_tokens.find((t) => isObject(t) && t.id === imageTokenId);
    if (isObject(hit) && typeof hit.content === 'string') return hit.content;
  }
  if (processor && typeof processor.image_token === 'string') return processor.image_token;
  throw new ConvertError(
    'missing-key',
    'tokenizer.json',
    `no added token with the ${what} token id ${imageTokenId} (config.json "${key}")`,
  );
}

/** Opens model.safetensors, or the shards an index names after checking the index against them. */
async function openWeights(folder: CheckpointFolder): Promise<SafetensorsFile[]> {
  const indexBytes = await readWhole(folder, INDEX_FILE);
  if (!indexBytes) {
    const single = await folder.open(SINGLE_FILE);
    if (!single)
      throw new ConvertError(
        'missing-file',
        SINGLE_FILE,
        `no weights in ${folder.id} (looked for ${SINGLE_FILE} and ${INDEX_FILE})`,
      );
    return [await SafetensorsFile.open(single, SINGLE_FILE)];
  }
  const index = parseJson(indexBytes, INDEX_FILE);
  if (!isObject(index) || !isObject(index.weight_map))
    throw new ConvertError('missing-key', INDEX_FILE, 'missing key "weight_map"');
  const weightMap = index.weight_map as Record<string, unknown>;
  const shardNames = [...new Set(Object.values(weightMap))].sort();
  const shards: SafetensorsFile[] = [];
  for (const shard of shardNames) {
    if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/')) {
      throw new ConvertError('bad-index', INDEX_FILE, `weight_map names an invalid shard ${JSON.stringify(shard)}`);
    }
    const source = await folder.open(shard);
    if (!source) throw new ConvertError('missing-file', shard, `shard listed in ${INDEX_FILE} not found`);
    shards.push(await SafetensorsFile.open(source, shard));
  }
  // The index and the shard headers must agree both ways.
  for (const shard of shards) {
    for (const key of shard.names()) {
      if (weightMap[key] !== shard.file) {
        throw new ConvertError(
          'bad-index',
          INDEX_FILE,
          `tensor "${key}" is in ${shard.file} but the index says ${JSON.stringify(weightMap[key] ?? null)}`,
        );
      }
    }
  }
  for (const [key, shardName] of Object.entries(weightMap)) {
    const shard = shards.find((s) => s.file === shardName)!;
    if (!shard.entry(key))
      throw new ConvertError(
        'bad-index',
        shard.file,
        `${INDEX_FILE} lists tensor "${key}" here but the shard has no such tensor`,
      );
  }
  return shards;
}

const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';

class OpenedCheckpoint implements Checkpoint {
  constructor(
    readonly id: string,
    readonly layout: 'legacy' | 'v5',
    readonly config: LlavaConfig,
    readonly chatTemplate: string,
    readonly files: Record<SideFile, Uint8Array>,
    private readonly tensors: Map<string, TensorLocation>,
    private readonly shards: SafetensorsFile[],
  ) {}

  names(): string[] {
    return [...this.tensors.keys()].sort();
  }
  info(name: string): TensorInfo | undefined {
    const loc = this.tensors.get(name);
    return loc && { dtype: loc.entry.dtype, shape: [...loc.entry.shape] };
  }
  async read(name: string): Promise<Float32Array> {
    const loc = this.tensors.get(name);
    if (!loc) throw new ConvertError('missing-tensor', this.id, `no canonical tensor "${name}"`);
    return loc.file.readF32(loc.sourceKey);
  }
  async close(): Promise<void> {
    for (const shard of this.shards) await shard.source.close?.();
  }
}

/**
 * Reads config, side files and safetensors headers, maps keys to canonical names and checks
 * every tensor's presence and shape against the config. Nothing is converted yet, so every
 * problem a checkpoint can have surfaces here, before a package is started.
 */
export async function openCheckpoint(folder: CheckpointFolder): Promise<Checkpoint> {
  const configBytes = await requireFile(folder, 'config.json');
  const configJson = parseJson(configBytes, 'config.json');
  const tokenizerBytes = await requireFile(folder, 'tokenizer.json');
  const tokenizerConfigBytes = await requireFile(folder, 'tokenizer_config.json');
  const tokenizerConfig = parseJson(tokenizerConfigBytes, 'tokenizer_config.json');
  if (!isObject(tokenizerConfig)) throw new ConvertError('bad-json', 'tokenizer_config.json', 'expected a JSON object');
  const image = await readImageProcessor(folder);
  const chatTemplate = await readChatTemplate(folder, tokenizerConfig);

  // Parse once for the image token id, then again with the token string found.
  const probe = parseLlavaConfig(configJson);
  const tokenizerJson = parseJson(tokenizerBytes, 'tokenizer.json');
  const imageToken = findImageToken(tokenizerJson, probe.imageTokenId, image.processor);
  const videoToken = probe.video
    ? findImageToken(tokenizerJson, probe.video.tokenId, null, 'video', 'video_token_index')
    : undefined;
  const config = parseLlavaConfig(configJson, imageToken, 'config.json', videoToken);
  checkProcessorAgainstModel(config, image);
  const layouts = familyArchitecture(config.family).keyLayouts;

  const shards = await openWeights(folder);
  const tensors = new Map<string, TensorLocation>();
  for (const file of shards) {
    for (const key of file.names()) {
      const canonical = canonicalName(key, layouts);
      if (canonical === null)
        throw new ConvertError(
          'unexpected-tensor',
          file.file,
          `tensor "${key}" belongs to no known part (${layouts.map((r) => r.sources.at(-1)!.replace(/^model\.|\.$/g, '')).join(', ')})`,
        );
      if (isIgnoredTensor(canonical)) continue;
      const prior = tensors.get(canonical);
      if (prior)
        throw new ConvertError(
          'unexpected-tensor',
          file.file,
          `tensor "${key}" and "${prior.sourceKey}" (${prior.file.file}) both map to "${canonical}"`,
        );
      tensors.set(canonical, { file, sourceKey: key, entry: file.entry(key)! });
    }
  }
  // Tied embeddings: transformers ignores a saved lm_head then, and so do we.
  if (config.text.tieWordEmbeddings) tensors.delete('lm_head.weight');

  const expected = expectedTensors(config);
  for (const [name, shape] of expected) {
    const loc = tensors.get(name);
    if (!loc)
      throw new ConvertError(
        'missing-tensor',
        shards.length === 1 ? shards[0].file : INDEX_FILE,
        `missing tensor "${name}" (config.json implies it)`,
      );
    if (loc.entry.shape.join(',') !== shape.join(',')) {
      throw new ConvertError(
        'shape-mismatch',
        loc.file.file,
        `tensor "${loc.sourceKey}" has shape [${loc.entry.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
  }
  for (const [name, loc] of tensors) {
    if (!expected.has(name))
      throw new ConvertError(
        'unexpected-tensor',
        loc.file.file,
        `tensor "${loc.sourceKey}" is not part of a ${config.text.arch} + ${config.vision.arch} LLaVA with this config`,
      );
  }

  const files: Record<SideFile, Uint8Array> = {
    'config.json': configBytes,
    'tokenizer.json': tokenizerBytes,
    'tokenizer_config.json': tokenizerConfigBytes,
    'preprocessor_config.json': image.bytes,
  };
  return new OpenedCheckpoint(folder.id, image.layout, config, chatTemplate, files, tensors, shards);
}

/** Files held in memory or as Blobs (a folder picked in the browser, tests). */
export function blobFolder(id: string, files: Record<string, Blob | Uint8Array>): CheckpointFolder {
  return {
    id,
    async open(path) {
      const file = files[path];
      if (!file) return null;
      return file instanceof Uint8Array ? new MemoryByteSource(file, path) : new BlobByteSource(file, path);
    },
  };
}
