/**
 * GPU memory a prompt needs, checked before any image is decoded (issue 15: long videos).
 *
 * The decoder's prefill attention (convert/arch/attention.ts `attend`) materialises each layer's
 * scores for the whole prompt, [1, heads, L, L] in f32, as one tensor: for L ≈ 4650 (8 frames of
 * 576 tokens) on a 32-head 7B model that is 2.77 GB. A WebGPU buffer bound as storage can hold at
 * most the device's maxStorageBufferBindingSize (onnxruntime asks for the adapter's own limit;
 * 2 GiB − 4 on the H200 and H100 through Dawn/Vulkan, 1 GiB on SwiftShader, less on many
 * laptops), and no buffer more than maxBufferSize. Past that the run cannot work (a binding over
 * the limit is a validation error, and WebGPU reports those asynchronously, not to the op), so it
 * is refused with the figures, before the vision tower runs.
 *
 * A follow-up on a kept conversation (conversation.ts) prefills only its new tokens, but they
 * attend over every row the kept caches hold: its scores are heads × new × (kept + new), checked
 * the same way (a long follow-up question on a long video can pass the limit though the context
 * holds it). The kept conversation's caches stay on the device while a request runs (a follow-up
 * appends to copies, so a stopped one leaves the conversation whole; any other request leaves it
 * kept), so their bytes are part of the figures.
 *
 * Only the largest single buffer is checked: WebGPU does not say how much memory the device has,
 * so the total (weights + KV caches + activations) is reported in the figures but not refused.
 * The wasm backend is not checked here (its limit is the context, inputs.ts).
 */
import { EngineError } from '../common/errors';

/** The model fields the estimate needs (a package manifest has them). */
export interface PromptMemoryModel {
  text: { numLayers: number; numHeads: number; numKvHeads: number; headDim: number };
  vision: { visualTokens: number };
  /** Video-LLaVA: a frame takes tokensPerFrame (its video tower keeps CLS), not visualTokens. */
  video?: { tokensPerFrame: number };
  /** 'float16' packages keep KV caches in f16; scores are f32 whatever the dtype. */
  activationDtype?: string;
}

/** The device limits that bound one buffer (AdapterInfo carries both; 0 where unknown). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface PromptMemory {
  /** Tokens the prefill runs at once (the whole prompt; a follow-up's new tokens). */
  promptTokens: number;
  /** Rows the kept caches already hold, which those tokens attend over too (0 without a follow-up). */
  pastTokens: number;
  /** One layer's prefill attention scores: heads × promptTokens × (pastTokens + promptTokens) × 4 bytes. */
  scoresBytes: number;
  /** KV caches of all layers at the end of the answer, unpruned (past rows included). */
  kvBytes: number;
  /** KV caches a kept conversation holds on the device meanwhile (measured: kvBytes.ts). */
  keptKvBytes: number;
}

export function promptMemory(
  m: PromptMemoryModel,
  promptTokens: number,
  maxNewTokens: number,
  kept: { pastTokens?: number; keptKvBytes?: number } = {},
): PromptMemory {
  const t = m.text;
  const kvElementBytes = m.activationDtype === 'float16' ? 2 : 4;
  const pastTokens = kept.pastTokens ?? 0;
  return {
    promptTokens,
    pastTokens,
    scoresBytes: t.numHeads * promptTokens * (pastTokens + promptTokens) * 4,
    kvBytes: t.numLayers * 2 * t.numKvHeads * t.headDim * (pastTokens + promptTokens + maxNewTokens) * kvElementBytes,
    keptKvBytes: kept.keptKvBytes ?? 0,
  };
}

/** The largest buffer the device takes: the smaller of its two limits (a 0 is unknown). */
export function largestBuffer(limits: BufferLimits): number {
  const known = [limits.maxBufferSize, limits.maxStorageBufferBindingSize].filter((v) => v > 0);
  return known.length ? Math.min(...known) : Infinity;
}

const mib = (bytes: number) =>
  bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : `${Math.ceil(bytes / 1024).toFixed(0)} KiB`;
const gb = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : mib(bytes));

/** What the caches hold besides the new prompt: the kept conversation's rows and bytes. */
export interface KeptMemory {
  /** Rows a follow-up's new tokens attend over (the kept caches it continues); 0 for a whole prefill. */
  pastTokens: number;
  /** Bytes of the kept conversation's caches, held on the device during the request (0: none kept). */
  keptKvBytes: number;
}

const keptNote = (need: PromptMemory) =>
  need.keptKvBytes > 0 ? `, and the kept conversation's caches hold ${gb(need.keptKvBytes)}` : '';

/**
 * Refuses a prompt of `promptTokens` (with `count` images or frames, `textTokens` of them not
 * visual) whose prefill attention scores exceed the device's largest buffer, saying how many
 * images or frames fit; for a follow-up (`kept.pastTokens` > 0) the new tokens over the kept
 * rows, saying how long a follow-up fits. `limits` null (wasm backend): nothing to check.
 */
export function checkPromptMemory(
  m: PromptMemoryModel,
  prompt: { promptTokens: number; count: number; textTokens: number; maxNewTokens: number },
  noun: 'image' | 'frame',
  limits: BufferLimits | null,
  kept: KeptMemory = { pastTokens: 0, keptKvBytes: 0 },
): void {
  if (!limits) return;
  const limit = largestBuffer(limits);
  const need = promptMemory(m, prompt.promptTokens, prompt.maxNewTokens, kept);
  if (need.scoresBytes <= limit) return;
  const V = noun === 'frame' && m.video ? m.video.tokensPerFrame : m.vision.visualTokens;
  const H = m.text.numHeads;
  const figures = {
    count: prompt.count,
    promptTokens: need.promptTokens,
    pastTokens: need.pastTokens,
    scoresBytes: need.scoresBytes,
    kvBytes: need.kvBytes,
    keptKvBytes: need.keptKvBytes,
    largestBuffer: limit,
  };
  const caches = `(The KV caches would take ${gb(need.kvBytes)} more${keptNote(need)}.)`;
  if (need.pastTokens > 0) {
    // Most new tokens n with H · n · (P + n) · 4 ≤ limit.
    const P = need.pastTokens;
    const fitTokens = Math.max(0, Math.floor((-P + Math.sqrt(P * P + limit / H)) / 2));
    throw new EngineError(
      'input',
      'conversation-too-long',
      `This follow-up adds ${need.promptTokens} tokens that attend over the conversation's ${P} kept ones at once: ` +
        `${H} heads × ${need.promptTokens} × ${P + need.promptTokens} scores × 4 bytes = ${gb(need.scoresBytes)} in one buffer, ` +
        `more than this GPU's largest buffer (${gb(limit)}): at most ${fitTokens} new tokens fit here; ` +
        `ask a shorter one, or start a new conversation. ${caches}`,
      { ...figures, fitTokens },
    );
  }
  // Most images whose prompt keeps the scores within the limit (separators counted as now: ≤ a few tokens off).
  const maxTokens = Math.floor(Math.sqrt(limit / (H * 4)));
  const fit = Math.max(0, Math.floor((maxTokens - prompt.textTokens) / V));
  const what = `${prompt.count} ${noun}${prompt.count === 1 ? '' : 's'}`;
  const advice =
    fit >= 1
      ? `at most ${fit} ${noun}${fit === 1 ? '' : 's'} fit${noun === 'frame' ? ' (fewer frames)' : ''}`
      : 'no image fits with this question';
  throw new EngineError(
    'input',
    noun === 'frame' ? 'too-many-frames' : 'too-many-images',
    `${what} make a prompt of ${need.promptTokens} tokens; the model attends over all of them at once, ` +
      `${H} heads × ${need.promptTokens} × ${need.promptTokens} scores × 4 bytes = ${gb(need.scoresBytes)} in one buffer, ` +
      `more than this GPU's largest buffer (${gb(limit)}): ${advice}. ${caches}`,
    { ...figures, fit },
  );
}
