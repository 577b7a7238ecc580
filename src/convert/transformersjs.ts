/**
 * The ONNX layout @huggingface/transformers (4.3.1) loads for a `llava` model, so its own
 * LlavaForConditionalGeneration can run our conversion of a checkpoint (the benchmark's peer).
 * Read from its dist source (MODEL_TYPES.ImageTextToText sessions, getSession,
 * getModelDataFiles, decoder_forward, addPastKeyValues):
 *
 *   onnx/vision_encoder{sfx}.onnx        pixel_values f32 [1,3,H,W] → image_features [1,Vp,D]
 *   onnx/embed_tokens{sfx}.onnx          input_ids int64 [batch_size,sequence_length] → inputs_embeds
 *   onnx/decoder_model_merged{sfx}.onnx  inputs_embeds, attention_mask int64 [batch_size,total_sequence_length],
 *                                        position_ids, past_key_values.N.key/.value
 *                                        [batch_size,Hkv,past_sequence_length,hd]
 *                                        → logits f32 [batch_size,1,V] (last position), present.N.key/.value
 *   external data: `<file>.onnx_data`, `<file>.onnx_data_1`, … counted per file in
 *   config.json "transformers.js_config".use_external_data_format (its chunk convention);
 *   sfx by dtype: fp32 '', fp16 '_fp16', q4 '_q4', q4f16 '_q4f16' (DEFAULT_DTYPE_SUFFIX_MAPPING).
 *   config.json (the checkpoint's, plus transformers.js_config with the dtype), generation_config.json,
 *   tokenizer.json, tokenizer_config.json, chat_template.jinja, preprocessor_config.json and
 *   processor_config.json (for its AutoProcessor → LlavaProcessor; see processorFiles).
 *
 * Same weights and math as our package (same layer code, merged as in decoder_merged.onnx).
 * attention_mask is declared because transformers.js derives position_ids from it, and is not
 * read: attention is causal by cache order, which for one unpadded sequence (batch 1, how the
 * benchmark runs it) is exactly what the mask says.
 */
import { MERGED_CHUNK_BYTES, buildDecoderStack } from './arch/merged';
import { buildEmbed } from './arch/llama';
import { buildVision } from './arch/vision';
import type { Checkpoint } from './checkpoint/checkpoint';
import { ConvertError } from '../common/errors';
import { EXTERNAL_DATA_THRESHOLD, type PackageFile } from './graphs';
import { additionalImageTokens } from './architectures/registry';
import type { GraphBuilder } from '../onnx/builder';
import type { PackageDtype } from '../package/manifest';
import type { PackageSink } from '../package/sink';

export const TRANSFORMERS_JS_SUFFIX: Record<PackageDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q4: '_q4',
  q4f16: '_q4f16',
};

/** `<file>.onnx_data`, `<file>.onnx_data_1`, … (transformers.js getExternalDataChunkNames). */
function chunkNamer(fileName: string): (index: number) => string {
  return (i) => `${fileName}_data${i === 0 ? '' : `_${i}`}`;
}

function serializeTjs(graph: GraphBuilder, path: string): PackageFile[] {
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  if (graph.weightBytes() <= EXTERNAL_DATA_THRESHOLD) return [{ path, bytes: graph.serialize().model }];
  const { model, data } = graph.serialize({ location: chunkNamer(fileName)(0) });
  return data
    ? [
        { path, bytes: model },
        { path: `${path}_data`, bytes: data },
      ]
    : [{ path, bytes: model }];
}

/** The three graphs, one file at a time (the decoder's data chunks as they fill). */
export async function* buildTransformersJsFiles(ckpt: Checkpoint, dtype: PackageDtype): AsyncIterable<PackageFile> {
  const cfg = ckpt.config;
  const sfx = TRANSFORMERS_JS_SUFFIX[dtype];
  yield* serializeTjs(await buildVision(ckpt, cfg, dtype, 'image_features'), `onnx/vision_encoder${sfx}.onnx`);
  const embedIo = { output: 'inputs_embeds', batch: 'batch_size', seq: 'sequence_length' };
  yield* serializeTjs(await buildEmbed(ckpt, cfg.text, dtype, embedIo), `onnx/embed_tokens${sfx}.onnx`);
  const decoderFile = `decoder_model_merged${sfx}.onnx`;
  const stack = buildDecoderStack(
    ckpt,
    cfg.text,
    dtype,
    {
      graphName: 'decoder_model_merged',
      hidden: 'inputs_embeds',
      positionIds: 'position_ids',
      extraInputs: [{ name: 'attention_mask', elem: 'int64', dims: ['batch_size', 'total_sequence_length'] }],
      past: (i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`],
      present: (i) => [`present.${i}.key`, `present.${i}.value`],
      dims: {
        batch: 'batch_size',
        seq: 'sequence_length',
        past: 'past_sequence_length',
        total: 'total_sequence_length',
      },
      output: { kind: 'logits', name: 'logits' },
    },
    chunkNamer(decoderFile),
    MERGED_CHUNK_BYTES,
  );
  for (;;) {
    const next = await stack.next();
    if (next.done) {
      yield { path: `onnx/${decoderFile}`, bytes: next.value };
      return;
    }
    yield { path: `onnx/${next.value.location}`, bytes: next.value.bytes };
  }
}

/** config.json with transformers.js_config: default dtype and each graph's data chunk count. */
function tjsConfig(ckpt: Checkpoint, dtype: PackageDtype, chunks: Record<string, number>): Uint8Array {
  const config = JSON.parse(new TextDecoder().decode(ckpt.files['config.json'])) as Record<string, unknown>;
  const prior = (config['transformers.js_config'] ?? {}) as Record<string, unknown>;
  config['transformers.js_config'] = { ...prior, dtype, use_external_data_format: chunks };
  return new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n');
}

function generationConfig(ckpt: Checkpoint): Uint8Array {
  const { bosTokenId, eosTokenIds, padTokenId } = ckpt.config.text;
  const eos = eosTokenIds.length === 1 ? eosTokenIds[0] : eosTokenIds;
  return new TextEncoder().encode(
    JSON.stringify({ bos_token_id: bosTokenId, eos_token_id: eos, pad_token_id: padTokenId }, null, 2) + '\n',
  );
}

/**
 * Its LlavaProcessor (chosen by `processor_class` in preprocessor_config.json) expands the image
 * token to (H/p)·(W/p) + num_additional_image_tokens and, unlike transformers, does not take one
 * off for the "default" strategy (CLS dropped), so the count given here is already net: the
 * prompt gets exactly as many image tokens as the vision graph returns rows.
 */
function processorFiles(ckpt: Checkpoint): { preprocessor: Uint8Array; processor: Uint8Array } {
  const enc = new TextEncoder();
  const pre = JSON.parse(new TextDecoder().decode(ckpt.files['preprocessor_config.json'])) as Record<string, unknown>;
  pre.processor_class = 'LlavaProcessor';
  const v = ckpt.config.vision;
  const processor = {
    processor_class: 'LlavaProcessor',
    image_token: ckpt.config.imageToken,
    patch_size: v.patchSize,
    num_additional_image_tokens: additionalImageTokens(v),
    vision_feature_select_strategy: v.selectStrategy,
  };
  return {
    preprocessor: enc.encode(JSON.stringify(pre, null, 2) + '\n'),
    processor: enc.encode(JSON.stringify(processor, null, 2) + '\n'),
  };
}

/** Its tokenizer takes the chat template only from tokenizer_config.json (LlavaProcessor reads no .jinja). */
function tokenizerConfig(ckpt: Checkpoint): Uint8Array {
  const cfg = JSON.parse(new TextDecoder().decode(ckpt.files['tokenizer_config.json'])) as Record<string, unknown>;
  cfg.chat_template ??= ckpt.chatTemplate;
  return new TextEncoder().encode(JSON.stringify(cfg, null, 2) + '\n');
}

export interface TjsConvertOptions {
  dtype: PackageDtype;
  sink: PackageSink;
  onProgress?: (progress: { path: string; filesDone: number; bytesWritten: number }) => void;
}

/**
 * Writes the transformers.js layout into `sink` (all or nothing, like convertCheckpoint).
 * Returns the written paths and sizes, sorted.
 */
export async function convertToTransformersJs(
  ckpt: Checkpoint,
  { dtype, sink, onProgress }: TjsConvertOptions,
): Promise<{ path: string; bytes: number }[]> {
  // transformers.js's LLaVA layout has one vision encoder: Video-LLaVA's second tower has no place there.
  if (ckpt.config.video)
    throw new ConvertError(
      'unsupported',
      'config.json',
      'the transformers.js layout is for LLaVA only: a video_llava checkpoint converts to our package layout (--layout package)',
    );
  const written: { path: string; bytes: number }[] = [];
  let bytesWritten = 0;
  const put = async (path: string, bytes: Uint8Array) => {
    if (written.some((f) => f.path === path)) throw new ConvertError('output', path, 'produced twice');
    await sink.write(path, bytes);
    written.push({ path, bytes: bytes.byteLength });
    bytesWritten += bytes.byteLength;
    onProgress?.({ path, filesDone: written.length, bytesWritten });
  };
  try {
    const chunks: Record<string, number> = {};
    for await (const file of buildTransformersJsFiles(ckpt, dtype)) {
      await put(file.path, file.bytes);
      const m = /^onnx\/(.+\.onnx)_data(?:_\d+)?$/.exec(file.path);
      if (m) chunks[m[1]] = (chunks[m[1]] ?? 0) + 1;
    }
    await put('config.json', tjsConfig(ckpt, dtype, chunks));
    await put('generation_config.json', generationConfig(ckpt));
    await put('tokenizer.json', ckpt.files['tokenizer.json']);
    await put('tokenizer_config.json', tokenizerConfig(ckpt));
    const proc = processorFiles(ckpt);
    await put('preprocessor_config.json', proc.preprocessor);
    await put('processor_config.json', proc.processor);
    await put('chat_template.jinja', new TextEncoder().encode(ckpt.chatTemplate));
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return written.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
