/**
 * Input slice actions. An image is checked from its header first (engine/imageHeader.ts, pure),
 * so a 12000×12000 PNG or a text file is refused before anything decodes it; then decoded
 * once to prove the pixel data is sound (a corrupt JPEG fails here), and kept as bytes.
 */
import { readImageHeader } from '../engine/imageHeader';
import { clearError, showError } from './engine';
import { getState, setState } from './store';

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

/** Returns true when the image was accepted. */
export async function setImageFromBlob(blob: Blob, name: string, decode: ImageDecoder = browserDecoder): Promise<boolean> {
  clearError('input');
  const bytes = await blob.arrayBuffer();
  let header;
  try {
    header = readImageHeader(new Uint8Array(bytes), name);
  } catch (e) {
    const err = e as { where?: string; code?: string; message: string };
    showError({ where: 'input', code: err.code ?? 'not-an-image', message: err.message });
    return false;
  }
  try {
    await decode(blob);
  } catch {
    showError({ where: 'input', code: 'corrupt-image', message: `The image ${name} could not be decoded: its ${header.format.toUpperCase()} data is damaged.` });
    return false;
  }
  const previous = getState().image;
  if (previous && typeof URL.revokeObjectURL === 'function') URL.revokeObjectURL(previous.url);
  const mime = blob.type || `image/${header.format}`;
  const url = typeof URL.createObjectURL === 'function' ? URL.createObjectURL(new Blob([bytes], { type: mime })) : '';
  setState({ image: { version: ++version, name, mime, bytes, width: header.width, height: header.height, url } });
  return true;
}

export async function loadSample(path: string, name: string): Promise<boolean> {
  try {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return setImageFromBlob(await response.blob(), name);
  } catch (e) {
    showError({ where: 'input', code: 'sample-failed', message: `The sample ${name} could not be fetched (${(e as Error).message}).` });
    return false;
  }
}

export function setQuestion(question: string): void {
  setState({ question });
}
