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
 * Only the largest single buffer is checked: WebGPU does not say how much memory the device has,
 * so the total (weights + KV caches + activations) is reported in the figures but not refused.
 * The wasm backend is not checked here (its limit is the context, inputs.ts).
 */
import { EngineError } from '../common/errors';

/** The model fields the estimate needs (a package manifest has them). */
export interface PromptMemoryModel {
  text: { numLayers: number; numHeads: number; numKvHeads: number; headDim: number };
  vision: { visualTokens: number };
  /** 'float16' packages keep KV caches in f16; scores are f32 whatever the dtype. */
  activationDtype?: string;
}

/** The device limits that bound one buffer (AdapterInfo carries both; 0 where unknown). */
export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface PromptMemory {
  /** Tokens the prefill attends over at once (the whole prompt). */
  promptTokens: number;
  /** One layer's prefill attention scores: heads × L × L × 4 bytes. */
  scoresBytes: number;
  /** KV caches of all layers at the end of the answer, unpruned. */
  kvBytes: number;
}

export function promptMemory(m: PromptMemoryModel, promptTokens: number, maxNewTokens: number): PromptMemory {
  const t = m.text;
  const kvElementBytes = m.activationDtype === 'float16' ? 2 : 4;
  return {
    promptTokens,
    scoresBytes: t.numHeads * promptTokens * promptTokens * 4,
    kvBytes: t.numLayers * 2 * t.numKvHeads * t.headDim * (promptTokens + maxNewTokens) * kvElementBytes,
  };
}

/** The largest buffer the device takes: the smaller of its two limits (a 0 is unknown). */
export function largestBuffer(limits: BufferLimits): number {
  const known = [limits.maxBufferSize, limits.maxStorageBufferBindingSize].filter((v) => v > 0);
  return known.length ? Math.min(...known) : Infinity;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const gb = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : mib(bytes));

/**
 * Refuses a prompt of `promptTokens` (with `count` images or frames, `textTokens` of them not
 * visual) whose prefill attention scores exceed the device's largest buffer, saying how many
 * images or frames fit. `limits` null (wasm backend): nothing to check.
 */
export function checkPromptMemory(
  m: PromptMemoryModel,
  prompt: { promptTokens: number; count: number; textTokens: number; maxNewTokens: number },
  noun: 'image' | 'frame',
  limits: BufferLimits | null,
): void {
  if (!limits) return;
  const limit = largestBuffer(limits);
  const need = promptMemory(m, prompt.promptTokens, prompt.maxNewTokens);
  if (need.scoresBytes <= limit) return;
  const V = m.vision.visualTokens;
  const H = m.text.numHeads;
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
      `more than this GPU's largest buffer (${gb(limit)}): ${advice}. ` +
      `(The KV caches would take ${gb(need.kvBytes)} more.)`,
    {
      count: prompt.count,
      promptTokens: need.promptTokens,
      scoresBytes: need.scoresBytes,
      kvBytes: need.kvBytes,
      largestBuffer: limit,
      fit,
    },
  );
}
