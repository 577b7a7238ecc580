/**
 * Checkpoint → model package. The graphs come from graphs.ts (one at a time, so only one
 * layer's weights are in memory); this adds the side files and manifest.json and commits the
 * sink. Any failure aborts the sink: no half-written package is left behind.
 * Deterministic: the same checkpoint and dtype give byte-identical files.
 */
import { VIDEO_VISION_PATH, buildMergedDecoderFiles, buildPackageFiles } from './graphs';
import type { Checkpoint, SideFile } from './checkpoint/checkpoint';
import { ConvertError } from '../common/errors';
import { buildManifest } from './manifestWriter';
import type { ManifestFile } from '../package/manifest';
import { layerGraphPath, type PackageDtype } from '../package/manifest';
import { sha256Hex } from '../package/hash';
import type { PackageSink } from '../package/sink';

export interface ConvertProgress {
  /** The file just written. */
  path: string;
  filesDone: number;
  bytesWritten: number;
  /** Graphs expected in all: vision (+ video_vision), embed, numLayers layers, head. */
  graphsDone: number;
  graphsTotal: number;
}

export interface ConvertOptions {
  dtype: PackageDtype;
  sink: PackageSink;
  onProgress?: (progress: ConvertProgress) => void;
  /** Also write decoder_merged.onnx (all layers in one graph; manifest `graphs.mergedDecoder`). */
  mergedDecoder?: boolean;
}

const SIDE_FILES: readonly SideFile[] = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
];

/** Writes the package; returns the manifest's file list (every file but manifest.json, sorted). */
export async function convertCheckpoint(
  ckpt: Checkpoint,
  { dtype, sink, onProgress, mergedDecoder }: ConvertOptions,
): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  const graphsTotal = ckpt.config.text.numLayers + 3 + (mergedDecoder ? 1 : 0) + (ckpt.config.video ? 1 : 0);
  let graphsDone = 0;
  let bytesWritten = 0;
  const put = async (path: string, bytes: Uint8Array) => {
    if (files.some((f) => f.path === path) || path === 'manifest.json')
      throw new ConvertError('output', path, 'produced twice');
    const sha256 = await sha256Hex(bytes);
    await sink.write(path, bytes);
    files.push({ path, bytes: bytes.byteLength, sha256 });
    bytesWritten += bytes.byteLength;
    if (path.endsWith('.onnx')) graphsDone++;
    onProgress?.({ path, filesDone: files.length, bytesWritten, graphsDone, graphsTotal });
  };
  try {
    for (const name of SIDE_FILES) await put(name, ckpt.files[name]);
    for await (const file of buildPackageFiles(ckpt, dtype)) await put(file.path, file.bytes);
    if (mergedDecoder) for await (const file of buildMergedDecoderFiles(ckpt, dtype)) await put(file.path, file.bytes);
    const needed = ['vision.onnx', 'embed.onnx', 'head.onnx', ...(ckpt.config.video ? [VIDEO_VISION_PATH] : [])];
    for (let i = 0; i < ckpt.config.text.numLayers; i++) needed.push(layerGraphPath(i, ckpt.config.text.numLayers));
    for (const path of needed) {
      if (!files.some((f) => f.path === path))
        throw new ConvertError('output', path, 'the graph builder did not produce it');
    }
    const manifest = buildManifest(ckpt, dtype, files);
    await sink.write('manifest.json', manifest);
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
