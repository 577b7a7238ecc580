/**
 * The goldens of fixtures/make_multi_goldens.py (`<fixture>/golden-multi.json`), for the tests
 * of several images and video frames (kept out of *.test.ts so importing them registers no tests).
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RequestImage } from './engine';
import { FIXTURES } from './fixturePackage.testutil';

export interface MultiGolden {
  question: string;
  images: string[];
  input_ids: number[];
  image_starts: number[];
  tokens_per_image: number;
  first_step_logits: number[];
  greedy16: number[];
  frame_indices?: number[];
  frames_source?: number;
}

export const multiGolden = (name: string): MultiGolden =>
  JSON.parse(readFileSync(join(FIXTURES, name, 'golden-multi.json'), 'utf8')) as MultiGolden;

/** The golden's images as the engine takes them (paths in the golden are relative to the fixture). */
export function goldenImages(name: string, g: Pick<MultiGolden, 'images'>): RequestImage[] {
  return g.images.map((p) => ({ bytes: new Uint8Array(readFileSync(join(FIXTURES, name, p))), name: basename(p) }));
}
