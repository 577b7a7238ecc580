import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../engine/protocol';
import { clip, shortSource, tokenBreakdown, visualTokenFacts } from './format';

describe('shortSource', () => {
  it('names a package URL by its last folder', () => {
    expect(shortSource('http://127.0.0.1:4173/test-packages/open-llava15-deep-fp32/')).toBe('open-llava15-deep-fp32');
    expect(shortSource('https://example.org/models/llava%201.5-q4?x=1')).toBe('llava 1.5-q4');
    expect(shortSource('/models/synthetic-tiny/')).toBe('synthetic-tiny');
  });
  it('keeps a label that is not a location', () => {
    expect(shortSource('Synthetic tiny (bundled)')).toBe('Synthetic tiny (bundled)');
    expect(shortSource('test-org/qwen2-siglip (q4, from the browser cache)')).toBe(
      'test-org/qwen2-siglip (q4, from the browser cache)',
    );
    expect(shortSource('https://host/')).toBe('https://host/');
  });
});

describe('clip', () => {
  it('cuts a long text at a word and says how long it was', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('one two three four five', 9)).toBe('one two… (23 characters)');
    expect(clip('one two three four five', 12)).toBe('one two thre… (23 characters)'); // no space near the cut
  });
});

describe('visual-token facts (the model card)', () => {
  // videollava-clip-112's figures: CLIP 112/14, 'default' drops an image's CLS (64), the video tower keeps it (65).
  const base: ModelInfo = {
    name: 'videollava-clip-112',
    dtype: 'fp32',
    numLayers: 4,
    hiddenSize: 64,
    visualTokens: 64,
    gridSize: [8, 8],
    imageSize: 112,
    synthetic: false,
    bytes: 0,
    imageFit: { kind: 'stretch' },
  };
  it('names what a token count on a grid holds', () => {
    expect(tokenBreakdown(64, [8, 8])).toBe('8×8 patches');
    expect(tokenBreakdown(257, [16, 16])).toBe('CLS + 16×16 patches');
    expect(tokenBreakdown(66, [8, 8])).toBe('2 leading tokens + 8×8 patches');
  });
  it('gives a frame its own count from the manifest where a video tower takes it', () => {
    const info: ModelInfo = { ...base, video: { tokensPerFrame: 65 } };
    expect(info.video).toEqual({ tokensPerFrame: 65 });
    expect(visualTokenFacts(info)).toEqual({
      image: 'per image: 64 (8×8 patches of a 112px image)',
      frame: 'per frame: 65 (CLS + 8×8 patches of a 112px frame)',
    });
  });
  it('says nothing apart of frames where they are fed as images', () => {
    const info: ModelInfo = { ...base };
    expect(info.video).toBeUndefined();
    expect(visualTokenFacts(info)).toEqual({ image: '64 (8×8 patches of a 112px image)', frame: null });
  });
});
