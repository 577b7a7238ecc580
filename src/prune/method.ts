import type { PruneBackend } from './backend';
import type { StageTrace } from '../common/trace';
import type { BTensor } from '../common/tensor';

/**
 * Where the visual tokens sit in the current sequence:
 * [pre-prompt (preLength) | visual (visualCount) | text after the image (textLength)].
 */
export interface SequenceLayout {
  preLength: number;
  visualCount: number;
  textLength: number;
}

export interface ModelDims {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  ropeTheta: number;
  /** Visual tokens the vision tower gives (576 for LLaVA-1.5). */
  visualTokens: number;
}

/** Given once per request, before layer 0. */
export interface RequestContext {
  backend: PruneBackend;
  dims: ModelDims;
  layout: SequenceLayout;
  /** Spliced input embeddings (L, D) entering layer 0. */
  embeds: BTensor;
  /** Projector outputs (V, D) and raw word embeddings of the text after the image (T, D). */
  visualEmbeds: BTensor;
  textEmbeds: BTensor;
  /** Original identity of every current visual token: patch index 0..Vp−1, or a negative merged id. */
  visualOrigin: Int32Array;
}

/** Given after layer `layer` ran over the whole current sequence (prefill only). */
export interface LayerContext extends RequestContext {
  layer: number;
  /** Layer outputs. hidden (L, D); query (H, L, hd); key (Hkv, L, hd), all post-RoPE. */
  hidden: BTensor;
  query: BTensor;
  key: BTensor;
  /** Positions fed to this layer. (L) i32 */
  positions: BTensor;
}

/**
 * What the engine applies to the sequence (hidden rows and positions) before the next layer.
 * The KV caches of layers already run are left as they are.
 */
export interface PrunePlan {
  /** New sequence as rows of concat(hidden, merged). (L') u32 */
  rows: BTensor;
  /** Merged tokens appended after the kept visual tokens, or null. (C, D) */
  merged: BTensor | null;
  layout: SequenceLayout;
  /** 'renumber': positions 0..L'−1 (v1, v1.5); 'keep': gather the old positions (v2, FastV). */
  positions: 'renumber' | 'keep';
  /** New visualOrigin, length layout.visualCount. */
  visualOrigin: Int32Array;
  trace: StageTrace;
}

export interface PruneMethod {
  readonly name: string;
  /** Resolved parameters (defaults filled in), for RequestTrace.params. */
  readonly params?: Readonly<Record<string, number | boolean | string>>;
  /** How new tokens are positioned in decode: each layer's own cache length, or the unpruned length + step. */
  readonly decodePositions: 'per-layer-cache-length' | 'unpruned-length';
  /** Before layer 0 (raters; DivPrune prunes here). */
  begin(ctx: RequestContext): Promise<PrunePlan | null>;
  /** After a layer ran in prefill; null when this layer does not prune. */
  afterLayer(ctx: LayerContext): Promise<PrunePlan | null>;
  /**
   * Optional: false when `afterLayer` would certainly return null after `layer` and do nothing
   * (no kernel, no state change), so the engine may skip building its context (views, the
   * positions upload) and the call. true = it may act. Absent = the engine always calls.
   */
  actsAfter?(layer: number): boolean;
  /** The raters chosen in `begin` of the current request (text-relative), when the method has raters. */
  raterSelection?(): { relevance: number[]; raters: number[] } | null;
  /** Visual tokens entering each layer when the schedule does not depend on the input; else null. */
  planVisualCounts?(dims: ModelDims): number[] | null;
}
