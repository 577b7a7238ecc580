/**
 * The prompt-memory limit (memoryLimits.ts) on the real model shapes of the synthetic configs
 * and the adapter limits recorded on the GPU machine (bench/results: maxStorageBufferBindingSize
 * 2147483644, maxBufferSize 1 TiB) and SwiftShader (1 GiB).
 */
import { describe, expect, it } from 'vitest';
import { EngineError } from '../common/errors';
import { checkPromptMemory, largestBuffer, promptMemory, type PromptMemoryModel } from './memoryLimits';

const H200 = { maxBufferSize: 1099511627776, maxStorageBufferBindingSize: 2147483644 };
const SWIFTSHADER = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 30 };
/** LLaVA-1.5-7B's decoder (32 heads of 128, 32 layers), 576 tokens an image; q4 keeps f32 activations. */
const LLAVA_7B: PromptMemoryModel = {
  text: { numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 128 },
  vision: { visualTokens: 576 },
  activationDtype: 'float32',
};
/** LLaVA-Interleave-Qwen-0.5B (14 heads, GQA 2 KV heads of 64, 24 layers), 729 tokens an image; context 8192. */
const QWEN_05B: PromptMemoryModel = {
  text: { numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64 },
  vision: { visualTokens: 729 },
  activationDtype: 'float16',
};

function refusal(fn: () => void): EngineError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('prompt memory limit', () => {
  it('estimates the prefill scores and the KV caches from the shape', () => {
    const est = promptMemory(LLAVA_7B, 4650, 64);
    expect(est.scoresBytes).toBe(32 * 4650 * 4650 * 4); // 2.77 GB
    expect(est.kvBytes).toBe(32 * 2 * 32 * 128 * (4650 + 64) * 4);
    expect(promptMemory(QWEN_05B, 1000, 0).kvBytes).toBe(24 * 2 * 2 * 64 * 1000 * 2); // f16 caches
    expect(largestBuffer(H200)).toBe(2147483644);
    expect(largestBuffer({ maxBufferSize: 0, maxStorageBufferBindingSize: 0 })).toBe(Infinity);
  });

  it('passes what fits: 7 frames on the 7B shape on the H200, any prompt without a WebGPU device', () => {
    expect(() =>
      checkPromptMemory(
        LLAVA_7B,
        { promptTokens: 7 * 576 + 45, count: 7, textTokens: 45, maxNewTokens: 64 },
        'frame',
        H200,
      ),
    ).not.toThrow();
    expect(() =>
      checkPromptMemory(
        LLAVA_7B,
        { promptTokens: 8 * 576 + 45, count: 8, textTokens: 45, maxNewTokens: 64 },
        'frame',
        null,
      ),
    ).not.toThrow();
  });

  it('refuses 8 frames of 576 tokens on the 7B shape with the figures and how many fit', () => {
    const e = refusal(() =>
      checkPromptMemory(
        LLAVA_7B,
        { promptTokens: 8 * 576 + 45, count: 8, textTokens: 45, maxNewTokens: 64 },
        'frame',
        H200,
      ),
    );
    expect(e.code).toBe('too-many-frames');
    expect(e.message).toBe(
      "8 frames make a prompt of 4653 tokens; the model attends over all of them at once, 32 heads × 4653 × 4653 scores × 4 bytes = 2.58 GiB in one buffer, more than this GPU's largest buffer (2.00 GiB): at most 7 frames fit (fewer frames). (The KV caches would take 4.61 GiB more.)",
    );
    expect(e.data).toMatchObject({ count: 8, promptTokens: 4653, largestBuffer: 2147483644, fit: 7 });
  });

  it('refuses 10 images on the 0.5B Qwen shape on SwiftShader (1 GiB) though its 8192 context holds them', () => {
    const prompt = { promptTokens: 10 * 729 + 30, count: 10, textTokens: 30, maxNewTokens: 64 };
    expect(prompt.promptTokens + prompt.maxNewTokens).toBeLessThan(8192);
    const e = refusal(() => checkPromptMemory(QWEN_05B, prompt, 'image', SWIFTSHADER));
    expect(e.code).toBe('too-many-images');
    // 14 · L² · 4 ≤ 2³⁰ → L ≤ 4379 → (4379 − 30) / 729 → 5 images.
    expect(e.data).toMatchObject({ fit: 5 });
    expect(e.message).toMatch(
      /^10 images make a prompt of 7320 tokens; .* 14 heads × 7320 × 7320 .* at most 5 images fit\./,
    );
    // On the H200's 2 GiB − 4 binding: 14 · 7320² · 4 = 3.0 GB, refused there too; L ≤ 6192 → 8 images.
    expect(refusal(() => checkPromptMemory(QWEN_05B, prompt, 'image', H200)).data).toMatchObject({ fit: 8 });
  });
});
