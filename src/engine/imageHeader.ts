/**
 * Read an image's format and dimensions from its header, without decoding it, so that a huge
 * image is refused before anything allocates width × height × 4 bytes, and a file that is not
 * an image (or was cut off) gets a plain message instead of a decoder stack trace.
 */
import { EngineError } from '../common/errors';

/** Largest image we decode: 50 megapixels (≈ 200 MB of RGBA while decoding). */
export const MAX_IMAGE_PIXELS = 50_000_000;

export interface ImageHeader {
  format: 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp';
  width: number;
  height: number;
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

const truncated = (name: string, format: string) =>
  new EngineError(
    'input',
    'truncated-image',
    `The image ${name} is cut off: its ${format.toUpperCase()} data ends early.`,
    { name, format },
  );

function jpegSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) {
      i += 1;
      continue;
    }
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: u16be(bytes, i + 5), width: u16be(bytes, i + 7) };
    }
    i += 2 + u16be(bytes, i + 2);
  }
  throw truncated(name, 'jpeg');
}

/** Throws EngineError 'empty-image' | 'not-an-image' | 'truncated-image' | 'image-too-large'. */
export function readImageHeader(bytes: Uint8Array, name = 'image'): ImageHeader {
  if (bytes.byteLength === 0)
    throw new EngineError('input', 'empty-image', `The image ${name} is empty (0 bytes).`, { name });
  let h: ImageHeader;
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') {
    if (b.length < 24) throw truncated(name, 'png');
    h = { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
    // Every PNG ends with an IEND chunk; without it the pixel data was cut.
    if (ascii(b, b.length - 8, 4) !== 'IEND') throw truncated(name, 'png');
  } else if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    h = { format: 'jpeg', ...jpegSize(b, name) };
    const tail = b.subarray(Math.max(0, b.length - 64));
    let hasEnd = false;
    for (let i = 0; i + 1 < tail.length; i++) if (tail[i] === 0xff && tail[i + 1] === 0xd9) hasEnd = true;
    if (!hasEnd) throw truncated(name, 'jpeg');
  } else if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    if (b.length < 10) throw truncated(name, 'gif');
    h = { format: 'gif', width: u16le(b, 6), height: u16le(b, 8) };
  } else if (b.length >= 2 && ascii(b, 0, 2) === 'BM') {
    if (b.length < 26) throw truncated(name, 'bmp');
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    h = { format: 'bmp', width: Math.abs(dv.getInt32(18, true)), height: Math.abs(dv.getInt32(22, true)) };
  } else if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    if (b.length < 30) throw truncated(name, 'webp');
    const chunk = ascii(b, 12, 4);
    if (chunk === 'VP8X') h = { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
    else if (chunk === 'VP8L') {
      const v = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      h = { format: 'webp', width: (v & 0x3fff) + 1, height: ((v >>> 14) & 0x3fff) + 1 };
    } else h = { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  } else {
    throw new EngineError(
      'input',
      'not-an-image',
      `The file ${name} is not an image this app can read (PNG, JPEG, GIF, BMP or WebP).`,
      { name },
    );
  }
  if (h.width === 0 || h.height === 0)
    throw new EngineError('input', 'not-an-image', `The image ${name} says it is ${h.width}×${h.height} pixels.`, {
      name,
      ...h,
    });
  if (h.width * h.height > MAX_IMAGE_PIXELS) {
    throw new EngineError(
      'input',
      'image-too-large',
      `The image ${name} is ${h.width}×${h.height} pixels; the limit is ${MAX_IMAGE_PIXELS / 1e6} megapixels. Please scale it down.`,
      { name, width: h.width, height: h.height, maxPixels: MAX_IMAGE_PIXELS },
    );
  }
  return h;
}
