/**
 * Checkpoint → the package's graphs, one file at a time: vision.onnx, embed.onnx,
 * layers/NN.onnx (+ NN.onnx.data when the layer's weights exceed 16 MiB), head.onnx.
 * Each graph reads its tensors as it is built and is serialised before the next one starts,
 * so at most one layer's weights (plus one f32 tensor being converted) are alive at a time.
 */
import { MERGED_CHUNK_BYTES, buildDecoderStack } from './arch/merged';
import { buildVision } from './arch/vision';
import { buildDecoderLayer, buildEmbed, buildHead } from './arch/llama';
import type { GraphConfig, TensorSource, WeightDtype } from './arch/types';
import type { GraphBuilder } from '../onnx/builder';
import { layerGraphPath } from '../package/manifest';

export interface PackageFile {
  path: string;
  bytes: Uint8Array;
}

/** The slice of a Checkpoint the graph builders need. */
export interface GraphSource extends TensorSource {
  config: GraphConfig;
}

/** Layers whose weights exceed this keep them in `NN.onnx.data` (docs/ARCHITECTURE.md). */
export const EXTERNAL_DATA_THRESHOLD = 16 * 1024 * 1024;

function serialize(graph: GraphBuilder, path: string): PackageFile[] {
  if (graph.weightBytes() <= EXTERNAL_DATA_THRESHOLD) return [{ path, bytes: graph.serialize().model }];
  const location = path.slice(path.lastIndexOf('/') + 1) + '.data';
  const { model, data } = graph.serialize({ location });
  const files = [{ path, bytes: model }];
  if (data) files.push({ path: `${path}.data`, bytes: data });
  return files;
}

export async function buildLayerFiles(ckpt: GraphSource, dtype: WeightDtype, layer: number): Promise<PackageFile[]> {
  const { text } = ckpt.config;
  const g = await buildDecoderLayer(ckpt, text, layer, dtype);
  return serialize(g, layerGraphPath(layer, text.numLayers));
}

/** Video-LLaVA's second tower (manifest `graphs.videoVision`). */
export const VIDEO_VISION_PATH = 'video_vision.onnx';

/**
 * The video tower as a vision graph: its `video_vision.*` tensors read under the `vision.*`
 * names the builder asks for, and every token kept (transformers' get_video_features applies
 * no select strategy: CLS stays), so frames give grid² + 1 tokens through the same projector.
 */
function videoTowerSource(ckpt: GraphSource): GraphSource {
  const rename = (name: string) => name.replace(/^vision\./, 'video_vision.');
  return {
    config: { ...ckpt.config, vision: { ...ckpt.config.vision, selectStrategy: 'full' } },
    info: (name) => ckpt.info(rename(name)),
    read: (name) => ckpt.read(rename(name)),
    ...(ckpt.readInt4 ? { readInt4: (name, opts) => ckpt.readInt4!(rename(name), opts) } : {}),
  };
}

export async function* buildPackageFiles(ckpt: GraphSource, dtype: WeightDtype): AsyncIterable<PackageFile> {
  const cfg = ckpt.config;
  yield* serialize(await buildVision(ckpt, cfg, dtype), 'vision.onnx');
  if (cfg.video) {
    const video = videoTowerSource(ckpt);
    yield* serialize(await buildVision(video, video.config, dtype), VIDEO_VISION_PATH);
  }
  yield* serialize(await buildEmbed(ckpt, cfg.text, dtype), 'embed.onnx');
  for (let layer = 0; layer < cfg.text.numLayers; layer++) yield* await buildLayerFiles(ckpt, dtype, layer);
  yield* serialize(await buildHead(ckpt, cfg.text, dtype), 'head.onnx');
}

/** Our merged decoder: all layers in one graph (manifest `graphs.mergedDecoder: { graph, data[] }`). */
export const MERGED_DECODER_PATH = 'decoder_merged.onnx';

/** `decoder_merged.onnx.data`, `decoder_merged.onnx.data.1`, … (each ≤ 1 GiB). */
export function mergedDataPath(index: number): string {
  return `${MERGED_DECODER_PATH}.data${index ? `.${index}` : ''}`;
}

/**
 * decoder_merged.onnx: hidden [1,S,D], position_ids [1,S], past_key.N / past_value.N
 * [1,Hkv,P,hd] → hidden_out [1,S,D], present_key.N / present_value.N [1,Hkv,T,hd]. No query
 * outputs, no pruning: the unpruned baseline the per-layer sessions are measured against.
 * Yields its data chunks as they fill, then the graph.
 */
export async function* buildMergedDecoderFiles(
  ckpt: GraphSource,
  dtype: WeightDtype,
  maxChunkBytes = MERGED_CHUNK_BYTES,
): AsyncIterable<PackageFile> {
  const { text } = ckpt.config;
  const stack = buildDecoderStack(
    ckpt,
    text,
    dtype,
    {
      graphName: 'decoder_merged',
      hidden: 'hidden',
      positionIds: 'position_ids',
      past: (i) => [`past_key.${i}`, `past_value.${i}`],
      present: (i) => [`present_key.${i}`, `present_value.${i}`],
      dims: { batch: 1, seq: 'S', past: 'P', total: 'T' },
      output: { kind: 'hidden', name: 'hidden_out' },
    },
    mergedDataPath,
    maxChunkBytes,
  );
  for (;;) {
    const next = await stack.next();
    if (next.done) {
      yield { path: MERGED_DECODER_PATH, bytes: next.value };
      return;
    }
    yield { path: next.value.location, bytes: next.value.bytes };
  }
}
