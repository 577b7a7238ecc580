/**
 * Input slice actions. An image is checked from its header first (engine/imageHeader.ts, pure),
 * so a 12000×12000 PNG or a text file is refused before anything decodes it; then decoded
 * once to prove the pixel data is sound (a corrupt JPEG fails here), and kept as bytes.
 * A question holds several images in the order given, or one video sampled to N frames in the
 * page (videoFrames.ts); a mix of the two is refused with what to do instead (issue 15).
 */
import { checkFrameCount } from '../engine/frames';
import { readImageHeader } from '../engine/imageHeader';
import { clearError, showError } from './engine';
import { getState, setState } from './store';
import type { InputImage, InputVideo, ShownError } from './types';
import { browserVideoSampler, VideoReadError, type VideoSampler } from './videoFrames';

export const EXAMPLE_QUESTIONS = [
  'What is in this picture?',
  'Which colours do you see?',
  'How many shapes are there?',
  'Describe it in one sentence.',
] as const;

export type ImageDecoder = (blob: Blob) => Promise<void>;

/** Browser default: decode to a bitmap and drop it. */
export const browserDecoder: ImageDecoder = async (blob) => {
  const bitmap = await createImageBitmap(blob);
  bitmap.close();
};

let version = 0;

type Checked = { ok: true; image: InputImage } | { ok: false; error: ShownError };

/** Header check, then one decode; nothing in the store changes. */
async function checkImage(
  blob: Blob,
  name: string,
  decode: ImageDecoder,
  frame?: InputImage['frame'],
): Promise<Checked> {
  const bytes = await blob.arrayBuffer();
  let header;
  try {
    header = readImageHeader(new Uint8Array(bytes), name);
  } catch (e) {
    const err = e as { where?: string; code?: string; message: string };
    return { ok: false, error: { where: 'input', code: err.code ?? 'not-an-image', message: err.message } };
  }
  try {
    await decode(blob);
  } catch {
    return {
      ok: false,
      error: {
        where: 'input',
        code: 'corrupt-image',
        message: `The image ${name} could not be decoded: its ${header.format.toUpperCase()} data is damaged.`,
      },
    };
  }
  const mime = blob.type || `image/${header.format}`;
  const url = typeof URL.createObjectURL === 'function' ? URL.createObjectURL(new Blob([bytes], { type: mime })) : '';
  return {
    ok: true,
    image: {
      version: ++version,
      name,
      mime,
      bytes,
      width: header.width,
      height: header.height,
      url,
      ...(frame ? { frame } : {}),
    },
  };
}

function revoke(images: InputImage[]): void {
  if (typeof URL.revokeObjectURL !== 'function') return;
  for (const im of images) if (im.url) URL.revokeObjectURL(im.url);
}

/** The question's images become `images` (prompt order); the old ones not kept are released. */
function putImages(images: InputImage[], video: InputVideo | null = null): void {
  const previous = getState().images;
  revoke(previous.filter((p) => !images.includes(p)));
  setState({ images, image: images[0] ?? null, video });
}

/** Returns true when the image was accepted; it replaces whatever was there (images or a video). */
export async function setImageFromBlob(
  blob: Blob,
  name: string,
  decode: ImageDecoder = browserDecoder,
): Promise<boolean> {
  clearError('input');
  const checked = await checkImage(blob, name, decode);
  if (!checked.ok) {
    showError(checked.error);
    return false;
  }
  putImages([checked.image]);
  return true;
}

const isVideo = (file: { blob: Blob; name: string }) =>
  file.blob.type.startsWith('video/') || /\.(webm|mp4|m4v|mov|ogv|mkv)$/i.test(file.name);

/** A video and images in one question: refused (as the CLI refuses --video with --image), with what to do instead. */
function mixMessage(has: string): ShownError {
  return {
    where: 'input',
    code: 'video-with-images',
    message: `A video and images cannot go into one question: the video is fed as its frames, and the model would take the images for more frames. ${has}`,
  };
}

/**
 * Files a person picked or dropped. 'replace' puts them in place of the current input (several
 * images in the order given, or one video); 'add' appends images after the current ones. All
 * or nothing: one refused file leaves the input as it was, with that file's message.
 */
export async function putFiles(
  files: { blob: Blob; name: string }[],
  mode: 'replace' | 'add',
  decode: ImageDecoder = browserDecoder,
  sampler?: VideoSampler,
): Promise<boolean> {
  clearError('input');
  if (files.length === 0) return false;
  const videos = files.filter(isVideo);
  const s = getState();
  if (videos.length > 0 && (videos.length < files.length || mode === 'add')) {
    showError(
      mixMessage(
        mode === 'add'
          ? `Remove the ${s.images.length === 1 ? 'image' : 'images'} first, or choose the video on its own.`
          : 'Choose the video on its own, or only images.',
      ),
    );
    return false;
  }
  if (videos.length > 1) {
    showError({
      where: 'input',
      code: 'several-videos',
      message: `One video per question: ${videos.length} were given (${videos.map((v) => v.name).join(', ')}).`,
    });
    return false;
  }
  if (videos.length === 1) return setVideoFromBlob(videos[0].blob, videos[0].name, sampler);
  if (mode === 'add' && s.video) {
    showError(mixMessage(`Remove the video ${s.video.name} first to ask about images.`));
    return false;
  }
  const accepted: InputImage[] = [];
  for (const f of files) {
    const checked = await checkImage(f.blob, f.name, decode);
    if (!checked.ok) {
      revoke(accepted);
      showError(
        files.length > 1
          ? { ...checked.error, message: `${checked.error.message} None of the ${files.length} files was added.` }
          : checked.error,
      );
      return false;
    }
    accepted.push(checked.image);
  }
  putImages(mode === 'add' ? [...getState().images, ...accepted] : accepted);
  return true;
}

/** Drops image `index` from the question (a video's frames go with the video: clearVideo). */
export function removeImage(index: number): void {
  const { images, video } = getState();
  if (video || index < 0 || index >= images.length) return;
  clearError('input');
  putImages(images.filter((_, i) => i !== index));
}

/** Moves image `index` by `delta` places in the prompt order. */
export function moveImage(index: number, delta: number): void {
  const { images, video } = getState();
  const to = index + delta;
  if (video || index < 0 || index >= images.length || to < 0 || to >= images.length) return;
  const next = images.slice();
  [next[index], next[to]] = [next[to], next[index]];
  putImages(next);
}

export function clearVideo(): void {
  clearError('input');
  putImages([]);
}

/**
 * A video file, sampled to `frameCount` frames in the page. An unreadable file or one with no
 * frames gets its message and leaves the input as it was.
 */
let videoRequest = 0;

export async function setVideoFromBlob(
  blob: Blob,
  name: string,
  sampler?: VideoSampler,
  count = getState().frameCount,
): Promise<boolean> {
  clearError('input');
  const request = ++videoRequest;
  setState({ sampling: name });
  try {
    const sampled = await (sampler ?? browserVideoSampler)(blob, name, count);
    // Another video was given meanwhile: it wins. The frame count changed meanwhile: sample again.
    if (request !== videoRequest) return false;
    if (getState().frameCount !== count) return setVideoFromBlob(blob, name, sampler, getState().frameCount);
    if (sampled.frames.length === 0) throw new VideoReadError('no-frames', `The video ${name} has no frames.`);
    const frames: InputImage[] = [];
    for (const f of sampled.frames) {
      const frameName = `${name} @ ${f.timeS.toFixed(2)} s`;
      const checked = await checkImage(new Blob([f.png], { type: 'image/png' }), frameName, async () => {}, {
        index: f.index,
        of: f.of,
        timeS: f.timeS,
      });
      if (!checked.ok) {
        revoke(frames);
        throw new VideoReadError('unreadable-video', checked.error.message);
      }
      frames.push(checked.image);
    }
    putImages(frames, { name, blob, durationS: sampled.durationS, width: sampled.width, height: sampled.height });
    return true;
  } catch (e) {
    if (request !== videoRequest) return false; // another video was given meanwhile
    const code = e instanceof VideoReadError ? e.code : 'unreadable-video';
    showError({
      where: 'input',
      code,
      message:
        e instanceof VideoReadError ? e.message : `The video ${name} could not be read: ${(e as Error).message}.`,
    });
    return false;
  } finally {
    if (request === videoRequest) setState({ sampling: null });
  }
}

/** The frame count setting; a video already given is sampled again with it. */
export async function setFrameCount(count: number, sampler?: VideoSampler): Promise<boolean> {
  clearError('input');
  try {
    checkFrameCount(count);
  } catch (e) {
    showError({ where: 'input', code: 'bad-option', message: (e as Error).message });
    return false;
  }
  setState({ frameCount: count });
  const video = getState().video;
  return video ? setVideoFromBlob(video.blob, video.name, sampler, count) : true;
}

export async function loadSample(path: string, name: string): Promise<boolean> {
  try {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return setImageFromBlob(await response.blob(), name);
  } catch (e) {
    showError({
      where: 'input',
      code: 'sample-failed',
      message: `The sample ${name} could not be fetched (${(e as Error).message}).`,
    });
    return false;
  }
}

export function setQuestion(question: string): void {
  setState({ question });
}
