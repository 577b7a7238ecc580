/**
 * Video frames in Node (the CLI and tests; never imported by the browser bundle): a folder of
 * frame images, or an animated image (GIF, animated WebP) decoded by sharp — the decoder
 * transformers.js already uses for images in Node (package-lock pins it). Animated PNG is not
 * read as an animation (libvips has no APNG loader): it gives its first frame only, so it is
 * refused with that reason rather than fed as a one-frame video.
 *
 * Only the sampled frames are read (a folder) or extracted (an animation, as lossless PNG);
 * their pixels are decoded by the engine like any image, after its limit checks.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { RequestImage } from './engine';
import { noFrames, sampleUniform } from './frames';
import { EngineError } from '../common/errors';

const FRAME_FILES = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp']);

export interface VideoFrames {
  /** The sampled frames, in order, as images of a request. */
  images: RequestImage[];
  /** Frames in the source. */
  total: number;
}

const unreadable = (source: string, why: string) =>
  new EngineError('input', 'unreadable-video', `The video ${source} could not be read: ${why}.`, { source, why });

/** Frames of a folder (image files sorted by name, numbers in names compared as numbers) or an animated image. */
export async function readVideoFrames(path: string, frames: number): Promise<VideoFrames> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw unreadable(path, 'no such file or folder');
  }
  return isDir ? folderFrames(path, frames) : animationFrames(path, frames);
}

async function folderFrames(dir: string, frames: number): Promise<VideoFrames> {
  const names = (await readdir(dir))
    .filter((n) => FRAME_FILES.has(extname(n).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (names.length === 0) throw noFrames(dir, `the folder holds no frame images (${[...FRAME_FILES].join(', ')})`);
  const picked = sampleUniform(names.length, frames);
  const images: RequestImage[] = [];
  for (const index of picked) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, names[index]));
    } catch (e) {
      throw unreadable(dir, `frame ${names[index]}: ${(e as Error).message}`);
    }
    images.push({
      bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      name: names[index],
      frame: { index, of: names.length },
    });
  }
  return { images, total: names.length };
}

async function animationFrames(file: string, frames: number): Promise<VideoFrames> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw unreadable(file, (e as Error).message);
  }
  const { default: sharp } = await import('sharp');
  let pages: number;
  let format: string | undefined;
  try {
    const meta = await sharp(bytes, { animated: true }).metadata();
    pages = meta.pages ?? 1;
    format = meta.format;
  } catch (e) {
    throw unreadable(
      file,
      `not an animated image or frame folder sharp can decode (${(e as Error).message.split('\n')[0]})`,
    );
  }
  if (format === 'png' && /acTL/.test(bytes.subarray(0, 4096).toString('latin1'))) {
    throw unreadable(
      file,
      'animated PNG is not supported (its decoder gives only the first frame); give the frames as a folder or a GIF',
    );
  }
  if (pages < 1) throw noFrames(file, 'the animation has no frames');
  const picked = sampleUniform(pages, frames);
  const images: RequestImage[] = [];
  for (const index of picked) {
    let png: Buffer;
    try {
      png = await sharp(bytes, { page: index }).png().toBuffer();
    } catch (e) {
      throw unreadable(file, `frame ${index} (${(e as Error).message.split('\n')[0]})`);
    }
    images.push({
      bytes: new Uint8Array(png.buffer, png.byteOffset, png.byteLength),
      name: `${basename(file)}#${index}`,
      frame: { index, of: pages },
    });
  }
  return { images, total: pages };
}
