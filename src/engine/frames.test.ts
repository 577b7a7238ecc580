import { describe, expect, it } from 'vitest';
import { checkFrameCount, sampleUniform, visualTokensFit } from './frames';
import { EngineError } from '../common/errors';

describe('video frame sampling and limits', () => {
  it('samples as numpy.linspace(0, total − 1, n).astype(int) does (i·step truncated; 24 → 8 as golden-multi.json recorded it with numpy)', () => {
    expect(sampleUniform(24, 8)).toEqual([0, 3, 6, 9, 13, 16, 19, 23]);
    expect(sampleUniform(100, 8)).toEqual([0, 14, 28, 42, 56, 70, 84, 99]);
    expect(sampleUniform(11, 4)).toEqual([0, 3, 6, 10]);
    expect(sampleUniform(300, 1)).toEqual([0]);
    // Fewer frames than asked: each once, never repeated to reach n.
    expect(sampleUniform(5, 8)).toEqual([0, 1, 2, 3, 4]);
    expect(sampleUniform(0, 8)).toEqual([]);
  });

  it('refuses a frame count that is not a whole number ≥ 1, and frames over the context with the figures', () => {
    expect(() => checkFrameCount(0, '--frames')).toThrow('--frames must be a whole number of at least 1, not 0.');
    expect(() => checkFrameCount(2.5)).toThrow(EngineError);
    expect(checkFrameCount(8)).toBe(8);
    const llava = { vision: { visualTokens: 576 }, text: { maxPositions: 4096 } };
    expect(() => visualTokensFit(llava, 7, 63, 'frame')).not.toThrow(); // 4095: one position left for the text
    expect(() => visualTokensFit(llava, 7, 64, 'frame')).toThrow('at most 6 fit'); // 4096: none left
    try {
      visualTokensFit(llava, 8, 64, 'frame');
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).code).toBe('too-many-frames');
      expect((e as EngineError).message).toBe(
        "8 frames take 8 × 576 = 4608 visual tokens; with 64 for the answer that is more than the model's context of 4096 tokens: at most 6 fit (fewer frames: --frames).",
      );
      expect((e as EngineError).data).toMatchObject({ count: 8, tokensPerImage: 576, context: 4096, fit: 6 });
    }
    // Video-LLaVA at 224 px: a frame is 257 tokens (CLS kept), an image 256.
    const videoLlava = { vision: { visualTokens: 256 }, video: { tokensPerFrame: 257 }, text: { maxPositions: 4096 } };
    expect(() => visualTokensFit(videoLlava, 15, 250, 'frame')).toThrow(
      "15 frames take 15 × 257 = 3855 visual tokens; with 250 for the answer that is more than the model's context of 4096 tokens: at most 14 fit",
    );
    expect(() => visualTokensFit(videoLlava, 15, 250, 'image')).not.toThrow(); // 15 × 256 + 250 = 4090
  });
});
