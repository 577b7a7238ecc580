import { describe, expect, it } from 'vitest';
import { clip, shortSource } from './format';

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
