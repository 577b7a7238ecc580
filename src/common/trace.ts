/**
 * The one record of a request that the UI, the benchmarks and the tests all read (DESIGN.md).
 * Plain data: JSON-serialisable, no tensors.
 */

export interface StageTrace {
  /** The stage's decision is taken after this layer ran; the next layer sees the result. */
  layer: number;
  visualIn: number;
  visualOut: number;
  /** Kept visual tokens in original coordinates (patch 0..Vp−1, merged tokens negative), sequence order. */
  kept: number[];
  /** One score per visual token entering the stage, sequence order. */
  scores: number[];
  /** Recycling candidates in original coordinates, descending score. */
  recycled: number[];
  /** Merged groups: members (original coordinates) → the merged token's id (negative). */
  merges: { id: number; members: number[] }[];
  /** Numerical rank of the rater × visual block when the method computed it. */
  rank?: number;
  /** Wall or GPU ms spent in the method's kernels for this stage. */
  ms?: number;
}

export interface RaterTrace {
  /** Text tokens after the image (ids) and their relevance m_i. */
  tokenIds: number[];
  /** Decoded text of each of those tokens, for the UI's rater view (optional; ids shown without it). */
  tokenTexts?: string[];
  relevance: number[];
  /** Text-relative indices of the raters. */
  raters: number[];
}

/**
 * Per-phase times of one request (ms). The prefill phases are contiguous spans between marks
 * of the engine's phase clock (src/engine/phaseClock.ts): start → vision → embed → method
 * begin → (layer l → its hook, when the method acts after l)… → head. So
 * visionMs + embedMs + Σ layerMs + methodMs + headMs = time from the first mark to the last,
 * which is ≤ prefillMs.
 *
 * Under `clock: 'gpu-timestamp'` (ORT's device has 'timestamp-query'; no CPU/GPU sync between
 * layers) a span is how far the GPU timeline advanced between two marks: the GPU work
 * submitted in the phase plus any time the GPU sat idle waiting for the CPU to submit it (so a
 * CPU-bound layer reads its CPU cost, a GPU-bound one its GPU cost).
 * Under `clock: 'wall'` a mark waits for the GPU queue to drain, then reads performance.now():
 * a span is the wall time of the phase with CPU and GPU serialised.
 */
export interface PhaseTimings {
  /** 'gpu-timestamp' when ORT's device has timestamp-query (and wall was not forced), else 'wall'. */
  clock: 'gpu-timestamp' | 'wall';
  /** vision.onnx (pixels → visual embeddings). */
  visionMs: number;
  /** embed.onnx and the splice of visual rows into the sequence. */
  embedMs: number;
  /** Each decoder layer over the whole current sequence (its span starts where the previous layer's hook ended). */
  layerMs: number[];
  /**
   * Our sparsification: `method.begin` plus every after-layer hook that acted (kernels, their
   * decision read-backs, the gather of kept rows). Layers the method does not act after add 0.
   * GPU clock: that time on the GPU timeline, including GPU idle while the hook's CPU side ran
   * between its reads; wall: the hooks' wall time.
   */
  methodMs: number;
  /** head.onnx and the read of the first-step logits. */
  headMs: number;
  /** Wall: request start (input preparation included) to the first-step logits on the CPU. */
  prefillMs: number;
  /** Wall: request start to the first token handed to onToken. */
  firstTokenMs: number;
  /** Wall, always: each decode step (all layers, head, next-token pick and its read-back, which syncs anyway). */
  decodeStepMs: number[];
  /** Wall: the whole request, trace resolution included. */
  totalMs: number;
}

export interface CostFigures {
  /**
   * Per decoder layer: 4nd² + 2n²d + 3ndm with n tokens entering (SPARSEVLM.md), summed: what
   * the request's prefill computed. A follow-up on kept caches (`followUp.cache` 'reused')
   * prefilled only its new tokens over each layer's kept rows: 4nd² + 2n(P+n)d + 3ndm.
   */
  flops: number;
  /** The same prefill without pruning (a reused follow-up: its new tokens over unpruned caches). */
  flopsUnpruned: number;
  /**
   * A reused follow-up only: the whole conversation's prefill at this turn's visual counts —
   * what a request without the kept caches would compute (prune/flops.ts costFigures).
   */
  flopsWholePrefill?: number;
  /**
   * KV-cache bytes held by each layer at the end of the request, measured off the cache tensors
   * (or captured-decode buffers' filled rows) the engine holds (src/engine/kvBytes.ts).
   */
  kvBytesPerLayer: number[];
  kvBytesUnpruned: number;
}

/**
 * One image (or video frame) of a request with several. Visual origins (`stages[].kept`,
 * `recycled`, merge members) then count tokens of the visual span — from the first image token
 * to the last, in sequence order — so image k's patch p is origin `origin + leading + p`; an origin that
 * falls in no image's range is a template token between two images (e.g. the `\n` after each
 * `<image>`), which the methods treat like a visual token. With one image the span is the image
 * and an origin is its patch index, as before — except a Video-LLaVA frame (tokens with a CLS
 * first), listed here even alone so that its `leading` token is known.
 */
export interface TraceImage {
  /** File name as given. */
  name: string;
  /** Origin of the image's first token in the visual span (patch 0's when `leading` is absent). */
  origin: number;
  /** Visual tokens of this image (the model's per-image count), `leading` ones included. */
  patches: number;
  /**
   * Tokens at the start of the image's range that are not grid patches: Video-LLaVA's video tower
   * keeps each frame's CLS token first (65 = 1 + 8×8 on a 112-px CLIP), so grid patch p is origin
   * `origin + leading + p`. Absent = 0 (every token is a patch, row-major).
   */
  leading?: number;
  /** Video: the frame's index in the source (before uniform sampling) and the source's frame count. */
  frame?: { index: number; of: number };
}

/** Where a visual origin comes from (see TraceImage): a patch of an image, one of its leading tokens (CLS), a merged token, or a template token between images. */
export type VisualOriginKind =
  | { kind: 'patch'; image: number; patch: number }
  /** One of an image's `leading` tokens (a frame's CLS): index 0 … leading − 1. */
  | { kind: 'leading'; image: number; index: number }
  | { kind: 'merged'; id: number }
  | { kind: 'between-images'; offset: number };

export function locateOrigin(trace: Pick<RequestTrace, 'images'>, origin: number): VisualOriginKind {
  if (origin < 0) return { kind: 'merged', id: origin };
  const images = trace.images;
  if (!images) return { kind: 'patch', image: 0, patch: origin };
  for (const [i, im] of images.entries()) {
    if (origin >= im.origin && origin < im.origin + im.patches) {
      const at = origin - im.origin,
        leading = im.leading ?? 0;
      return at < leading ? { kind: 'leading', image: i, index: at } : { kind: 'patch', image: i, patch: at - leading };
    }
  }
  return { kind: 'between-images', offset: origin };
}

export interface RequestTrace {
  method: string;
  params: Record<string, unknown>;
  inputIds: number[];
  /** Visual block = the visual span (several images: first image token to last, separators included). */
  layout: { preLength: number; visualCount: number; textLength: number };
  /** Several images or frames, in prompt order; absent for one image (a single Video-LLaVA frame is listed, for its `leading` CLS). */
  images?: TraceImage[];
  raters?: RaterTrace;
  /** Visual tokens entering each layer. */
  visualPerLayer: number[];
  /** Mean over layers of visual tokens after each layer ("equal tokens"), and mean entering each layer. */
  equalTokens: number;
  meanVisualIn: number;
  stages: StageTrace[];
  timings: PhaseTimings;
  cost: CostFigures;
  generatedIds: number[];
  /** A follow-up question (turn ≥ 2 of a conversation): how it continued; absent on a first question. */
  followUp?: FollowUpTrace;
}

/**
 * How a follow-up turn ran (engine/conversation.ts). 'reused': the kept per-layer caches as
 * they were (pruned ones pruned; `stages` and `raters` are then the pruning turn's, whose kept
 * sets the caches hold: nothing was rated or pruned again),
 * `droppedTokens` cut off their end where the template renders the last answer differently,
 * `newTokens` prefilled. 'prefilled': the whole conversation prefilled afresh (its own stages),
 * and why.
 */
export type FollowUpTrace =
  | {
      turn: number;
      mode: 'reuse-cache' | 'prefill-again';
      cache: 'reused';
      reusedTokens: number;
      droppedTokens: number;
      newTokens: number;
    }
  | { turn: number; mode: 'reuse-cache' | 'prefill-again'; cache: 'prefilled'; reason: string };
