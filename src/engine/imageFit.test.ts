/** imageFitOf reads the processor geometry the app draws patches over (ModelInfo.imageFit). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageFitOf } from './inputs';

const config = (fixture: string) =>
  JSON.parse(readFileSync(`fixtures/${fixture}/preprocessor_config.json`, 'utf8')) as Record<string, unknown>;

describe('imageFitOf', () => {
  it('CLIP (LLaVA-1.5): short side to 336, then the centre 336×336', () => {
    expect(imageFitOf(config('llama-clip-gqa'))).toEqual({
      kind: 'resize-crop',
      shortestEdge: 336,
      longestEdge: null,
      crop: [336, 336],
    });
  });
  it('SigLIP: resized to height × width whatever the aspect ratio', () => {
    expect(imageFitOf(config('qwen2-siglip'))).toEqual({ kind: 'stretch' });
  });
  it('an integer size keeps the aspect ratio with the long side capped (max_size, else the size)', () => {
    expect(imageFitOf({ size: 224, do_center_crop: true, crop_size: 224 })).toEqual({
      kind: 'resize-crop',
      shortestEdge: 224,
      longestEdge: 224,
      crop: [224, 224],
    });
    expect(imageFitOf({ size: { shortest_edge: 224 }, do_center_crop: false, crop_size: 224 })).toEqual({
      kind: 'resize-crop',
      shortestEdge: 224,
      longestEdge: null,
      crop: null,
    });
  });
});
