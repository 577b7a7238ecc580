/**
 * What the app hears of a Video-LLaVA package's frames (ModelInfo.video), from its manifest.
 *
 * The engine's `info` (engine.ts) names the image tower's figures only; the worker adds these
 * to every ModelInfo it posts, so the app states a frame's real token count (CLS + grid) rather
 * than an image's.
 */
import type { Manifest } from '../package/manifest';
import type { ModelInfo } from './protocol';

/** `info` with the package's per-frame token count where frames go through a video tower. */
export function withVideoInfo(info: ModelInfo, manifest: Pick<Manifest, 'video'>): ModelInfo {
  const video = manifest.video;
  return video ? { ...info, video: { tokensPerFrame: video.tokensPerFrame } } : info;
}
