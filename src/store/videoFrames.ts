/**
 * A video file sampled to N frames in the page, with no server: a `<video>` element seeks to
 * each sampled time and the frame is drawn to a canvas and encoded as PNG (issue 15).
 *
 * Which frames: the engine's `sampleUniform` (Video-LLaVA's linspace) over the video's
 * millisecond grid, because a `<video>` element tells time, not frame numbers; frame k is
 * shown at `index / 1000` s, so the first is at 0 and the last 1 ms before the end.
 */
import { sampleUniform } from '../engine/frames';

/** One sampled frame: PNG bytes, and where it sits in the video. */
export interface SampledFrame {
  png: ArrayBuffer;
  index: number;
  of: number;
  timeS: number;
  width: number;
  height: number;
}

export interface SampledVideo {
  durationS: number;
  width: number;
  height: number;
  frames: SampledFrame[];
}

/** Why a video gave no frames, in the words the input panel shows. */
export class VideoReadError extends Error {
  constructor(
    readonly code: 'unreadable-video' | 'no-frames',
    message: string,
  ) {
    super(message);
  }
}

export type VideoSampler = (blob: Blob, name: string, count: number) => Promise<SampledVideo>;

/** Frames wider than this are scaled down before encoding (the processor resizes far below it anyway). */
const MAX_SIDE = 1024;
/** How long one load or seek may take before the video counts as unreadable. */
const WAIT_MS = 15_000;

function once(video: HTMLVideoElement, event: string, what: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new VideoReadError(
          'unreadable-video',
          `The video ${name} could not be read: ${what} took more than ${WAIT_MS / 1000} s.`,
        ),
      );
    }, WAIT_MS);
    const ok = () => {
      off();
      resolve();
    };
    const bad = () => {
      off();
      reject(
        new VideoReadError(
          'unreadable-video',
          `The video ${name} could not be read: this browser cannot decode it (${describeMediaError(video.error)}).`,
        ),
      );
    };
    const off = () => {
      clearTimeout(timer);
      video.removeEventListener(event, ok);
      video.removeEventListener('error', bad);
    };
    video.addEventListener(event, ok);
    video.addEventListener('error', bad);
  });
}

function describeMediaError(error: MediaError | null): string {
  if (!error) return 'no details';
  const kinds: Record<number, string> = {
    1: 'loading aborted',
    2: 'network error',
    3: 'damaged or unsupported data',
    4: 'not a video format it knows',
  };
  return kinds[error.code] ?? `media error ${error.code}`;
}

async function seek(video: HTMLVideoElement, timeS: number, name: string): Promise<void> {
  const done = once(video, 'seeked', `seeking to ${timeS.toFixed(2)} s`, name);
  video.currentTime = timeS;
  await done;
}

/** The browser's sampler: a detached `<video>` element and one canvas. */
export const browserVideoSampler: VideoSampler = async (blob, name, count) => {
  const url = URL.createObjectURL(blob);
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  video.playsInline = true;
  try {
    const loaded = once(video, 'loadeddata', 'loading', name);
    video.src = url;
    await loaded;
    if (!video.videoWidth || !video.videoHeight)
      throw new VideoReadError(
        'no-frames',
        `The video ${name} has no frames: it holds no picture track (sound only?).`,
      );
    let durationS = video.duration;
    if (!Number.isFinite(durationS)) {
      // Recorded WebM (MediaRecorder) carries no duration: seeking far past the end makes the browser find it.
      await seek(video, 1e9, name);
      durationS = video.duration;
    }
    const of = Math.floor(durationS * 1000);
    if (!Number.isFinite(durationS) || of < 1)
      throw new VideoReadError(
        'no-frames',
        `The video ${name} has no frames: its length is ${Number.isFinite(durationS) ? `${durationS} s` : 'unknown'}.`,
      );
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
    canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
    const ctx = canvas.getContext('2d');
    if (!ctx)
      throw new VideoReadError(
        'unreadable-video',
        `The video ${name} could not be read: this page cannot draw to a canvas.`,
      );
    const frames: SampledFrame[] = [];
    for (const index of sampleUniform(of, count)) {
      const timeS = index / 1000;
      await seek(video, timeS, name);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const png = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
      if (!png)
        throw new VideoReadError(
          'unreadable-video',
          `The video ${name} could not be read: its frame at ${timeS.toFixed(2)} s did not encode.`,
        );
      frames.push({ png: await png.arrayBuffer(), index, of, timeS, width: canvas.width, height: canvas.height });
    }
    return { durationS, width: video.videoWidth, height: video.videoHeight, frames };
  } finally {
    video.removeAttribute('src');
    video.load();
    URL.revokeObjectURL(url);
  }
};
