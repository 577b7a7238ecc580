/**
 * Package output: where files go (PackageSink) and manifest.json (docs/ARCHITECTURE.md,
 * "The model package", format version 1). A sink either commits the whole package or leaves
 * nothing: the Node sink writes into a temp folder beside the target and renames it at commit.
 */
import { ropeTablePositions } from './arch/attention';
import type { Checkpoint } from './checkpoint/checkpoint';
import { VIDEO_VISION_PATH } from './graphs';
import type { ManifestFile, PackageDtype } from '../package/manifest';
import { layerGraphPath, activationDtypeOf } from '../package/manifest';

/** 'decoder_merged.onnx.data' → 0, 'decoder_merged.onnx.data.3' → 3. */
function chunkIndex(path: string): number {
  const m = /\.data\.(\d+)$/.exec(path);
  return m ? Number(m[1]) : 0;
}

/**
 * manifest.json bytes. Key order is fixed by construction and `files` is sorted by path, so
 * the same checkpoint and dtype always give the same bytes.
 */
export function buildManifest(ckpt: Checkpoint, dtype: PackageDtype, files: readonly ManifestFile[]): Uint8Array {
  const { text, vision } = ckpt.config;
  const grid = Math.floor(vision.imageSize / vision.patchSize);
  const manifest = {
    format: 'sparsevlm-package',
    version: 1,
    name: ckpt.id.split('/').filter(Boolean).pop() ?? ckpt.id,
    source: { kind: ckpt.synthetic ? 'synthetic' : 'checkpoint', id: ckpt.id, layout: ckpt.layout },
    synthetic: ckpt.synthetic === true,
    dtype,
    activationDtype: activationDtypeOf(dtype),
    architecture: { text: text.arch, vision: vision.arch },
    text: {
      hiddenSize: text.hiddenSize,
      numLayers: text.numLayers,
      numHeads: text.numHeads,
      numKvHeads: text.numKvHeads,
      headDim: text.headDim,
      intermediateSize: text.intermediateSize,
      vocabSize: text.vocabSize,
      ropeTheta: text.ropeTheta,
      rmsNormEps: text.rmsNormEps,
      // the rope tables' rows (max_position_embeddings, capped), and at most the sliding window
      // (full attention equals it while the sequence fits): the engine refuses prompts longer
      maxPositions: Math.min(ropeTablePositions(text.maxPositions), text.slidingWindow ?? Infinity),
      slidingWindow: text.slidingWindow,
      attentionBias: text.attentionBias,
      tieWordEmbeddings: text.tieWordEmbeddings,
      bosTokenId: text.bosTokenId,
      eosTokenIds: text.eosTokenIds,
      padTokenId: text.padTokenId,
    },
    vision: {
      arch: vision.arch,
      imageSize: vision.imageSize,
      patchSize: vision.patchSize,
      gridSize: [grid, grid],
      visualTokens: ckpt.config.imageSeqLength,
      featureLayer: vision.featureLayer,
      selectStrategy: vision.selectStrategy,
    },
    imageTokenId: ckpt.config.imageTokenId,
    imageToken: ckpt.config.imageToken,
    // Video-LLaVA: frames go through graphs.videoVision, `token` expanded to frames × tokensPerFrame.
    ...(ckpt.config.video
      ? {
          video: {
            tokenId: ckpt.config.video.tokenId,
            token: ckpt.config.video.token,
            tokensPerFrame: ckpt.config.video.tokensPerFrame,
          },
        }
      : {}),
    chatTemplate: ckpt.chatTemplate,
    graphs: {
      vision: 'vision.onnx',
      ...(ckpt.config.video ? { videoVision: VIDEO_VISION_PATH } : {}),
      embed: 'embed.onnx',
      layers: Array.from({ length: text.numLayers }, (_, i) => layerGraphPath(i, text.numLayers)),
      head: 'head.onnx',
      // Only when converted with the merged decoder: all layers in one graph + its data chunks.
      ...(files.some((f) => f.path === 'decoder_merged.onnx')
        ? {
            mergedDecoder: {
              graph: 'decoder_merged.onnx',
              data: files
                .map((f) => f.path)
                .filter((p) => p.startsWith('decoder_merged.onnx.data'))
                .sort((a, b) => chunkIndex(a) - chunkIndex(b)),
            },
          }
        : {}),
    },
    files: [...files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 })),
  };
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
}
