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

export interface PhaseTimings {
  /** 'gpu-timestamp' when the adapter has timestamp-query, else 'wall'. */
  clock: 'gpu-timestamp' | 'wall';
  visionMs: number;
  embedMs: number;
  layerMs: number[];
  methodMs: number;
  headMs: number;
  prefillMs: number;
  firstTokenMs: number;
  decodeStepMs: number[];
  totalMs: number;
}

export interface CostFigures {
  /** Per decoder layer: 4nd² + 2n²d + 3ndm with n tokens entering (SPARSEVLM.md). */
  flops: number;
  flopsUnpruned: number;
  /** KV-cache bytes held by each layer at the end of the request. */
  kvBytesPerLayer: number[];
  kvBytesUnpruned: number;
}

export interface RequestTrace {
  method: string;
  params: Record<string, unknown>;
  inputIds: number[];
  layout: { preLength: number; visualCount: number; textLength: number };
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
}
