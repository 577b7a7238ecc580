/**
 * The one interface a pruning method computes through. Two implementations:
 * `CpuPruneBackend` (the CPU references, f64 accumulation, used by the wasm fallback and
 * as the oracle in tests) and `GpuPruneBackend` (the WGSL kernels in shaders/, on ORT's
 * WebGPU device). A method is written once against this interface (STYLE.md rule 4).
 *
 * Shape legend: docs/ARCHITECTURE.md. Row-major everywhere; the leading batch dim of ORT
 * tensors ([1,S,D] etc.) is dropped here.
 */
import type { BTensor, HostArray } from '../common/tensor';

export interface RaterSelection {
  /** m: mean over visual rows of softmax over text of Hv·Htᵀ. (T) */
  relevance: Float32Array;
  /** Text-relative indices i with m_i > mean(m) (or ≥ with `inclusive`), ascending. (R) */
  raters: Uint32Array;
}

export interface RaterAttentionArgs {
  /** Cache indices of the query rows to score with (raters, or the last prompt token for FastV/PDrop). (R) u32 */
  queryRows: BTensor;
  /** First cache index and count of the visual tokens (the score columns). */
  visualStart: number;
  visualCount: number;
  /** v2 gravity correction: divide each probability by w(Δ), Δ = positions[q] − positions[k]. */
  gravity?: { positions: BTensor /* (T) i32 */; ropeTheta: number };
  /** Keep only this many heads (largest block sum) before averaging (v2: 14 of 32, scaled). */
  topHeads?: number;
}

export interface RaterAttention {
  /** Head-averaged (over kept heads) post-softmax probabilities of the query rows at visual columns. (R, V) */
  block: BTensor;
  /** Mean of `block` over rows. (V) */
  scores: BTensor;
}

export interface TopkKeep {
  /** Indices (into the current visual tokens) of the k best scores, ascending = sequence order. (k) u32 */
  keep: BTensor;
  /** All visual indices by descending score; ties broken by lower index first. (V) u32 */
  order: BTensor;
}

export type RecycleVariant = {
  /** 'euclidean' (code default) or 'cosine' (paper) assignment of tokens to centres. */
  assignment: 'euclidean' | 'cosine';
  /** 'mean' (code default) or 'sum' (paper) merge of each cluster. */
  merge: 'mean' | 'sum';
  /** δ of the densest token: 'global-max' pairwise distance (code) or 'row-max' (paper). */
  densestDelta: 'global-max' | 'row-max';
};

export interface DpcKnnMerge {
  /** Merged tokens, one per cluster, in centre order (descending ρ·δ). (C, D) */
  merged: BTensor;
  /** Cluster id of each candidate, in candidate order. (N) u32 */
  assignment: BTensor;
  /** Candidate index of each centre. (C) u32 */
  centers: BTensor;
}

/** Part of a tensor to read: elements [offset, offset + count) of its flat data. */
export interface ReadPart {
  tensor: BTensor;
  offset?: number;
  count?: number;
}

export interface PruneBackend {
  readonly kind: 'cpu' | 'gpu';
  upload(data: HostArray, shape: readonly number[]): BTensor;
  /** Read back to the host. Only for decisions and the trace (never hidden states or KV). */
  read(tensor: BTensor): Promise<HostArray>;
  /** Several reads as one (the GPU backend: one submit and one mapAsync for all). */
  readMany(parts: readonly ReadPart[]): Promise<HostArray[]>;
  /**
   * out[i] = src[start + i] + add for i < count, src u32: recycling candidates from top-k's
   * order, without a read-back on the GPU. (count) u32.
   */
  selectRows(src: BTensor, start: number, count: number, add: number): BTensor;
  release(tensor: BTensor): void;

  // Activation inputs (visual, text, query, key, hidden) may be f32 or f16 (read as f32).

  /** Step 1. visual (V, D), text (T, D) → relevance and raters. */
  raterSelect(visual: BTensor, text: BTensor, opts?: { inclusive?: boolean }): Promise<RaterSelection>;
  /** Step 2. query (H, L, hd) post-RoPE, key (Hkv, T, hd) post-RoPE; full causal softmax denominators. */
  raterAttention(query: BTensor, key: BTensor, args: RaterAttentionArgs): RaterAttention;
  /** Numerical rank of block (R, V), tolerance σ_max · max(R, V) · ε_f32. */
  rankEstimate(block: BTensor): Promise<number>;
  /** Top-k of scores (V), sequence order kept. */
  topkKeep(scores: BTensor, k: number): TopkKeep;
  /** DPC-kNN recycling over rows `candidates` (N, u32 row indices, descending score) of hidden (L, D). */
  dpcKnnMerge(hidden: BTensor, candidates: BTensor, clusters: number, variant: RecycleVariant): DpcKnnMerge;
  /** DivPrune: greedy max-min cosine diversity over visual (V, D); returns k indices ascending. (k) u32 */
  diversitySelect(visual: BTensor, k: number): BTensor;
  /**
   * Token compaction: out[i] = rows[i] < L ? src[rows[i]] : extra[rows[i] − L].
   * src (L, W), extra (C, W) or null, rows (L') u32 → (L', W) in src's dtype. Works for f32
   * or f16 hidden rows and i32 position columns (W = 1); f32 `extra` (merged tokens) joins
   * f16 rows cast to f16.
   */
  gather(src: BTensor, extra: BTensor | null, rows: BTensor): BTensor;
}
