/**
 * Video as frames (issue 15): which frames of a source to feed, and how they become images of a
 * request. Browser-safe (no Node imports); Node's readers are in nodeFrames.ts.
 *
 * LLaVA-family checkpoints take a video as its frames, each an image in prompt order
 * (llava-interleave's format; LLaVA-1.5 has none of its own and gets the same), so a sampled
 * frame is one `RequestImage` carrying its index in the source.
 */
import { EngineError } from '../common/errors';

/** Frames fed by default: Video-LLaVA's 8. */
export const DEFAULT_FRAMES = 8;

/**
 * `n` frame indices spread evenly over a source of `total` frames: Video-LLaVA's
 * `np.linspace(0, total − 1, n).astype(int)` (first and last frame always in). With n ≥ total
 * every frame is taken once (no frame is repeated to reach n).
 */
export function sampleUniform(total: number, wanted: number): number[] {
  if (total <= 0) return [];
  const count = Math.min(wanted, total);
  if (count === 1) return [0];
  // linspace's step as numpy computes it ((stop − start) / (num − 1)), then i·step, truncated.
  const step = (total - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? total - 1 : Math.trunc(i * step)));
}

/** Checks a frame count setting (--frames, the app's control): a whole number ≥ 1. */
export function checkFrameCount(count: number, what = 'The number of frames'): number {
  if (!Number.isInteger(count) || count < 1) {
    throw new EngineError(
      'input',
      'bad-option',
      `${what} must be a whole number of at least 1, not ${String(count)}.`,
      {
        frames: count,
      },
    );
  }
  return count;
}

/** A source with no frames (an empty folder, an animation without frames). */
export function noFrames(source: string, detail: string): EngineError {
  return new EngineError('input', 'no-frames', `The video ${source} has no frames: ${detail}.`, { source });
}

/** The model fields the frame limit needs. */
export interface VisualBudget {
  vision: { visualTokens: number };
  /** Video-LLaVA: a frame takes tokensPerFrame (its video tower keeps CLS), not visualTokens. */
  video?: { tokensPerFrame: number };
  text: { maxPositions: number };
}

/**
 * Refuses `count` images or frames whose visual tokens alone, with the answer, exceed the
 * model's context — from the manifest, before anything is read or loaded. (The engine checks
 * again with the prompt's text tokens counted: `InputPipeline.prepareText`.)
 */
export function visualTokensFit(
  manifest: VisualBudget,
  count: number,
  maxNewTokens: number,
  noun: 'image' | 'frame',
): void {
  const V = noun === 'frame' && manifest.video ? manifest.video.tokensPerFrame : manifest.vision.visualTokens;
  const limit = manifest.text.maxPositions;
  if (count * V + maxNewTokens < limit) return;
  const fit = Math.max(0, Math.floor((limit - 1 - maxNewTokens) / V));
  throw new EngineError(
    'input',
    noun === 'frame' ? 'too-many-frames' : 'too-many-images',
    `${count} ${noun}s take ${count} × ${V} = ${count * V} visual tokens; with ${maxNewTokens} for the answer that is more than the model's context of ${limit} tokens: at most ${fit} fit${noun === 'frame' ? ' (fewer frames: --frames)' : ''}.`,
    { count, tokensPerImage: V, maxNewTokens, context: limit, fit },
  );
}
