/**
 * Messages between the UI (main thread) and the engine worker. Plain structured-clone data:
 * no tensors, no class instances. Each request carries an id; the worker answers with
 * events of the same id and exactly one `done` or `error`.
 */
import type { RequestTrace } from '../common/trace';
import type { EngineErrorWhere } from '../common/errors';
import type { PackageSource } from '../package/source';

// a folder a person picked

export interface MethodSettings {
  /** Registry name: none | sparsevlm | sparsevlm-v1 | sparsevlm-v2 | fastv | pdrop | divprune */
  method: string;
  /** 192 | 128 | 96 | 64 where the method has tables. */
  budget?: number;
  /** The method's own parameters (λ, scale, bias, τ, θ, K, R, raters, recycling, variants). */
  params?: Record<string, number | boolean | string>;
}

/** One answered turn of a conversation (issue 15): the question and the answer as the person read it. */
export interface ConversationTurn {
  question: string;
  answer: string;
}

/**
 * How a follow-up continues a conversation (docs/ARCHITECTURE.md, "Follow-up questions").
 * 'reuse-cache' (default): the kept per-layer KV caches as they are (pruned ones pruned), only
 * the new tokens prefilled; nothing is rated or pruned again. 'prefill-again': the whole
 * conversation prefilled afresh from the cached vision embeddings, so the method prunes again
 * with raters from the whole conversation's text (every question and answer so far).
 */
export type FollowUpMode = 'reuse-cache' | 'prefill-again';

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /**
   * Reuse vision embeddings cached for the same image content (default true: compare mode and
   * asking again skip the tower). Benchmarks set false so every request measures the tower.
   */
  reuseVision?: boolean;
  /** How a follow-up continues its conversation (default 'reuse-cache'). */
  followUp?: FollowUpMode;
}

export interface AdapterInfo {
  backend: 'webgpu' | 'wasm';
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  software: boolean;
  shaderF16: boolean;
  timestampQuery: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** The adapter's smallest subgroup width (GPUAdapterInfo.subgroupMinSize) with `subgroups`; null otherwise. */
  subgroupMinSize: number | null;
}

/**
 * How the package's image processor maps a picture onto the model's input square, so the app
 * can draw the patches over the part the model saw. 'resize-crop': resized so its short side
 * is `shortestEdge` (its long side at most `longestEdge`), then the centre `crop` [h, w] cut
 * out (CLIP, LLaVA-1.5; padded where the crop is larger). 'stretch': resized to the input size
 * whatever its aspect ratio (SigLIP).
 */
export type ImageFit =
  | { kind: 'resize-crop'; shortestEdge: number | null; longestEdge: number | null; crop: [number, number] | null }
  | { kind: 'stretch' };

export interface ModelInfo {
  name: string;
  dtype: string;
  numLayers: number;
  hiddenSize: number;
  /** Tokens of one image through the image tower (a frame too, unless `video` says otherwise). */
  visualTokens: number;
  gridSize: [number, number];
  imageSize: number;
  synthetic: boolean;
  bytes: number;
  imageFit: ImageFit;
  /**
   * Video-LLaVA packages (manifest `video`): a frame goes through the video tower, which keeps
   * every token, so it takes `tokensPerFrame` = its leading CLS + gridSize[0] × gridSize[1]
   * (65 for an 8×8 grid where an image takes 64). Absent: a frame is an image (`visualTokens`).
   */
  video?: { tokensPerFrame: number };
}

export interface LoadProgress {
  phase: 'download' | 'verify' | 'session' | 'warmup';
  file?: string;
  loadedBytes: number;
  totalBytes: number;
  filesDone: number;
  filesTotal: number;
}

export type ToWorker =
  | { type: 'init'; id: number; preferBackend?: 'webgpu' | 'wasm' }
  | { type: 'load'; id: number; source: PackageSource }
  | {
      type: 'generate';
      id: number;
      /** Encoded image bytes (PNG/JPEG/…) as the person gave them. */
      image: { bytes: ArrayBuffer; mime: string; name: string };
      /**
       * Several images or a video's sampled frames, in prompt order (issue 15); when given they
       * are the request's images and `image` is not used. Send the buffers in the transfer list.
       */
      images?: { bytes: ArrayBuffer; mime: string; name: string; frame?: { index: number; of: number } }[];
      question: string;
      /** Earlier turns when this question follows up on an answer (issue 15; engine.ts GenerateRequest). */
      history?: ConversationTurn[];
      /** The engine's kept conversation to continue (a `done`'s `conversation.id`). */
      conversation?: string;
      /** Keep this request's caches for a follow-up (`done.conversation`). */
      keepConversation?: boolean;
      settings: MethodSettings;
      options: GenerateOptions;
    }
  | { type: 'cancel'; id: number /* id of the generate to stop */ }
  /**
   * Test hook (fault injection, issue 7): destroy the engine's GPUDevice now, as a driver reset
   * would. The worker answers through the normal `device-lost` path; nothing else changes.
   */
  | { type: 'lose-device'; id: number };

export type FromWorker =
  | { type: 'ready'; id: number; adapter: AdapterInfo }
  | { type: 'progress'; id: number; progress: LoadProgress }
  | { type: 'loaded'; id: number; model: ModelInfo }
  /**
   * One generated token. `text` is what became final with it (engine/textStream.ts): appended in
   * order, the pieces are always a prefix of `done.text`; a piece may be '' (a space waiting for
   * the next word, half of a UTF-8 character). `done.text` is the whole answer.
   */
  | { type: 'token'; id: number; tokenId: number; text: string; elapsedMs: number }
  | {
      type: 'done';
      id: number;
      text: string;
      trace: RequestTrace;
      /** The first step's 10 largest logits (id, value), for golden checks in the browser (e2e/engine.spec.ts). */
      firstStepTopLogits?: { id: number; value: number }[];
      /** With `keepConversation`: the conversation the engine keeps for a follow-up, and its answered turns. */
      conversation?: { id: string; turns: number };
    }
  | {
      type: 'error';
      id: number;
      where: EngineErrorWhere;
      code: string;
      message: string;
      /**
       * For a failed `load`: the model loaded now. A package refused before any of its files is
       * read (no manifest, unreachable, wrong version, missing files) leaves the previous model
       * loaded; past that point the previous one was released (null).
       */
      loaded?: ModelInfo | null;
    }
  /**
   * The GPUDevice was lost (device.lost resolved: out of memory, driver reset, destroy()). `id`
   * is the request it interrupted, or 0. Requests in flight still end with their own `error`.
   * The app keeps its state and recovers by sending `init` then `load` again: after a loss the
   * worker must create a fresh device and sessions on the next `init`.
   */
  | { type: 'device-lost'; id: number; reason: 'destroyed' | 'unknown'; message: string };
