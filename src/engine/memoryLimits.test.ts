/**
 * The prompt-memory limit (memoryLimits.ts) on the real model shapes of the synthetic configs
 * and the adapter limits recorded on the GPU machine (bench/results: maxStorageBufferBindingSize
 * 2147483644, maxBufferSize 1 TiB) and SwiftShader (1 GiB); then through the engine on Dawn
 * (SwiftShader's own limits), where a request over them is refused before any work starts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../common/errors';
import { checkPromptMemory, largestBuffer, promptMemory, type PromptMemoryModel } from './memoryLimits';
import type { Engine, GenerateRequest } from './engine';
import { FIXTURES, dawnEngine, memoryReader } from './fixturePackage.testutil';
import { SyntheticCheckpoint } from '../convert/synthetic/synthetic';
import { convertCheckpoint } from '../convert/convert';
import { MemorySink } from '../package/sink';

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

  it("counts a Video-LLaVA frame as its video tower's 257 tokens (CLS kept), not the image's 256", () => {
    const videoLlava = { ...LLAVA_7B, vision: { visualTokens: 256 }, video: { tokensPerFrame: 257 } };
    // 4095 tokens fit one 2 GiB scores buffer; with 250 text tokens that is 14 frames of 257 (15 of 256).
    const prompt = { promptTokens: 16 * 257 + 250, count: 16, textTokens: 250, maxNewTokens: 64 };
    expect(refusal(() => checkPromptMemory(videoLlava, prompt, 'frame', H200)).data).toMatchObject({ fit: 14 });
    expect(refusal(() => checkPromptMemory(videoLlava, prompt, 'image', H200)).data).toMatchObject({ fit: 15 });
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

  it("checks a follow-up's new tokens over the kept rows, and counts the kept conversation's caches", () => {
    // A 2150-token follow-up alone: 32 · 2150² · 4 = 0.59 GB, within 1 GiB; over 1900 kept rows: 1.11 GB, not.
    const prompt = { promptTokens: 2150, count: 3, textTokens: 2150, maxNewTokens: 64 };
    const kept = { pastTokens: 1900, keptKvBytes: 2 ** 30 };
    expect(() => checkPromptMemory(LLAVA_7B, prompt, 'image', SWIFTSHADER)).not.toThrow();
    expect(promptMemory(LLAVA_7B, 2150, 64, kept)).toMatchObject({
      scoresBytes: 32 * 2150 * 4050 * 4,
      kvBytes: 32 * 2 * 32 * 128 * (1900 + 2150 + 64) * 4,
      keptKvBytes: 2 ** 30,
    });
    const e = refusal(() => checkPromptMemory(LLAVA_7B, prompt, 'image', SWIFTSHADER, kept));
    expect(e.code).toBe('conversation-too-long');
    expect(e.message).toBe(
      "This follow-up adds 2150 tokens that attend over the conversation's 1900 kept ones at once: 32 heads × 2150 × 4050 scores × 4 bytes = 1.04 GiB in one buffer, more than this GPU's largest buffer (1.00 GiB): at most 2098 new tokens fit here; ask a shorter one, or start a new conversation. (The KV caches would take 4.02 GiB more, and the kept conversation's caches hold 1.00 GiB.)",
    );
    const fitTokens = (e.data as { fitTokens: number }).fitTokens;
    const scores = (n: number) => 32 * n * (1900 + n) * 4;
    expect(scores(fitTokens)).toBeLessThanOrEqual(2 ** 30);
    expect(scores(fitTokens + 1)).toBeGreaterThan(2 ** 30);
    // A whole prefill's refusal names the kept caches too.
    const whole = refusal(() =>
      checkPromptMemory(
        LLAVA_7B,
        { promptTokens: 8 * 576 + 45, count: 8, textTokens: 45, maxNewTokens: 64 },
        'frame',
        H200,
        { pastTokens: 0, keptKvBytes: 300 * 2 ** 20 },
      ),
    );
    expect(whole.message).toMatch(
      /\(The KV caches would take 4\.61 GiB more, and the kept conversation's caches hold 300 MiB\.\)$/,
    );
    expect(whole.data).toMatchObject({ keptKvBytes: 300 * 2 ** 20, pastTokens: 0 });
  });
});

// Through the engine on Dawn (SwiftShader binds at most 1 GiB) with the synthetic many-heads-112
// shape: 64 heads over a 4096-token context and 64 tokens an image, so a prompt whose scores
// (64 · L² · 4 bytes) pass the device's largest buffer still fits the context — the memory check
// refuses it, not the context check. One layer, width 256: converted in a second.
describe('the engine refuses what the device cannot hold, before any work (Dawn)', () => {
  let engine: Engine;
  const frame = new Uint8Array(readFileSync(join(FIXTURES, 'multi', 'frames', 'frame-00.png')));
  const image = (i: number) => ({ bytes: frame, name: `frame-${i}.png` });
  const ask = (r: Partial<GenerateRequest>): Promise<unknown> =>
    engine
      .generate({
        images: [image(0)],
        question: 'What is in the picture?',
        settings: { method: 'none' },
        options: { maxNewTokens: 4, temperature: 0, topP: 1, seed: 0 },
        ...r,
      })
      .catch((e: unknown) => e);

  beforeAll(async () => {
    const tokDir = join(FIXTURES, 'open-llava15-deep');
    const ckpt = new SyntheticCheckpoint('many-heads-112', {
      tokenizerJson: new Uint8Array(readFileSync(join(tokDir, 'tokenizer.json'))),
      tokenizerConfigJson: new Uint8Array(readFileSync(join(tokDir, 'tokenizer_config.json'))),
      chatTemplate: readFileSync(join(tokDir, 'chat_template.jinja'), 'utf8'),
    });
    const sink = new MemorySink();
    await convertCheckpoint(ckpt, { dtype: 'fp32', sink });
    engine = await dawnEngine();
    await engine.load(memoryReader(sink.files, 'many-heads-112'));
  }, 300_000);
  afterAll(async () => engine?.dispose());

  it('a follow-up too long for one scores buffer over the kept caches, then 40 images: refused with the figures; the conversation goes on', async () => {
    const limit = largestBuffer(engine.adapter);
    expect(limit, "SwiftShader's largest storage binding").toBe(2 ** 30);
    const t1 = (await ask({ keepConversation: true })) as Awaited<ReturnType<Engine['generate']>>;
    expect(t1.tokenIds).toHaveLength(4);
    // The kept caches: 1 layer × K and V × 2 KV heads × 4 dims × 4 bytes a row, one row per id
    // that went through the layers (the prompt and the answer tokens but the last).
    const keptKvBytes = 2 * 2 * 4 * 4 * (t1.inputIds.length + t1.tokenIds.length - 1);
    // Turn 1's trace measured what decode held (kvBytes.ts; captured: the fixed caches' rows, once
    // read 4/3 too high off onnxruntime's rounded buffer sizes).
    expect(t1.trace.cost.kvBytesPerLayer.reduce((a, b) => a + b, 0)).toBe(keptKvBytes);
    const id = t1.conversation!.id;
    const visionRuns = engine.visionRuns;

    // ~2300 new tokens over ~90 kept rows: 64 · S · (P + S) · 4 > 1 GiB, inside the 4096 context.
    const long = (await ask({ conversation: id, question: 'a '.repeat(2300) })) as EngineError;
    expect(long, String(long)).toBeInstanceOf(EngineError);
    expect(long.code, long.message).toBe('conversation-too-long');
    const d = long.data as { promptTokens: number; pastTokens: number; scoresBytes: number; keptKvBytes: number };
    expect(d.pastTokens).toBeGreaterThanOrEqual(t1.trace.layout.preLength + t1.trace.layout.visualCount);
    expect(d.pastTokens + d.promptTokens).toBeLessThan(4096);
    expect(d.scoresBytes).toBe(64 * d.promptTokens * (d.pastTokens + d.promptTokens) * 4);
    expect(d.scoresBytes).toBeGreaterThan(limit);
    expect(d.keptKvBytes, 'the kept caches, measured off their tensors').toBe(keptKvBytes);
    expect(long.message).toMatch(
      /^This follow-up adds \d+ tokens that attend over the conversation's \d+ kept ones at once: 64 heads × \d+ × \d+ scores × 4 bytes = 1\.\d\d GiB in one buffer, more than this GPU's largest buffer \(1\.00 GiB\): at most \d+ new tokens fit here; .*the kept conversation's caches hold \d+ KiB\.\)$/,
    );

    // 40 images: 2560 visual tokens + text, inside the context; 64 · L² · 4 > 1 GiB.
    const many = (await ask({ images: Array.from({ length: 40 }, (_, i) => image(i)) })) as EngineError;
    expect(many, String(many)).toBeInstanceOf(EngineError);
    expect(many.code, many.message).toBe('too-many-images');
    expect(many.data).toMatchObject({ count: 40, largestBuffer: limit, keptKvBytes, pastTokens: 0 });
    expect((many.data as { fit: number }).fit).toBeGreaterThanOrEqual(29);
    expect((many.data as { fit: number }).fit).toBeLessThan(32);
    expect(many.message).toMatch(
      /^40 images make a prompt of \d+ tokens; .* 64 heads × \d+ × \d+ scores .*: at most \d+ images fit\./,
    );
    expect(engine.visionRuns, 'no image went through the vision tower').toBe(visionRuns);

    // Nothing was lost: the kept conversation takes a short follow-up on its caches.
    const t2 = (await ask({ conversation: id, question: 'And the colour?' })) as Awaited<
      ReturnType<Engine['generate']>
    >;
    expect(t2.trace?.followUp, String(t2)).toMatchObject({ turn: 2, cache: 'reused' });
  }, 300_000);
});
