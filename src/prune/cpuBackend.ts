import type {
  DpcKnnMerge,
  PruneBackend,
  RaterAttention,
  RaterAttentionArgs,
  RaterSelection,
  RecycleVariant,
  TopkKeep,
  ReadPart,
} from './backend';
import { KernelInputError } from '../gpu/kernels/errors';
import { raterSelectReference } from '../gpu/kernels/rater_select.reference';
import { raterAttentionReference } from '../gpu/kernels/rater_attention.reference';
import { rankEstimateReference } from '../gpu/kernels/rank_estimate.reference';
import { topkKeepReference } from '../gpu/kernels/topk_keep.reference';
import { dpcKnnMergeReference } from '../gpu/kernels/dpc_knn_merge.reference';
import { divpruneSelectReference } from '../gpu/kernels/divprune_select.reference';
import { gatherTokensReference } from '../gpu/kernels/gather_tokens.reference';
import { castF16ToF32Reference, castF32ToF16Reference } from '../gpu/kernels/cast_f16.reference';
import { shapeOf } from '../gpu/shapes';
import type { BDtype, BTensor, HostArray } from '../common/tensor';
import { selectRowsReference } from '../gpu/kernels/select_rows.reference';

/** A host tensor of the CPU backend. */
export class CpuTensor implements BTensor {
  constructor(
    readonly data: HostArray,
    readonly shape: readonly number[],
    readonly dtype: BDtype,
  ) {}
}

export function dtypeOf(data: HostArray): BDtype {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint16Array) return 'f16';
  return 'u32';
}

function host(tensor: BTensor, name: string): CpuTensor {
  if (!(tensor instanceof CpuTensor))
    throw new KernelInputError('CpuPruneBackend', name, 'a CpuTensor', tensor.constructor.name);
  return tensor;
}

/** An activation as f32: f32 as is, f16 widened (exact), anything else refused. */
function f32(tensor: BTensor, name: string): Float32Array {
  const h = host(tensor, name);
  if (h.data instanceof Float32Array) return h.data;
  if (h.data instanceof Uint16Array) return castF16ToF32Reference(h.data);
  throw new KernelInputError('CpuPruneBackend', name, 'f32 or f16', h.dtype);
}

/** The CPU references behind the PruneBackend interface (wasm fallback, and the tests' oracle). */
export class CpuPruneBackend implements PruneBackend {
  readonly kind = 'cpu' as const;

  upload(data: HostArray, shape: readonly number[]): BTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length < size)
      throw new KernelInputError('CpuPruneBackend', 'upload', `${size} elements for [${shape}]`, `${data.length}`);
    return new CpuTensor(data.slice(0, size) as HostArray, [...shape], dtypeOf(data));
  }

  async read(tensor: BTensor): Promise<HostArray> {
    return host(tensor, 'read').data.slice() as HostArray;
  }

  release(_t: BTensor): void {
    // Host memory is garbage-collected.
  }

  async readMany(parts: readonly ReadPart[]): Promise<HostArray[]> {
    return parts.map(
      ({ tensor, offset = 0, count }) =>
        host(tensor, 'readMany').data.slice(offset, count === undefined ? undefined : offset + count) as HostArray,
    );
  }

  selectRows(src: BTensor, start: number, count: number, add: number): BTensor {
    const rows = host(src, 'selectRows');
    if (!(rows.data instanceof Uint32Array))
      throw new KernelInputError('CpuPruneBackend', 'selectRows', 'u32', rows.dtype);
    return this.upload(selectRowsReference(rows.data, start, count, add), [count]);
  }

  async raterSelect(visual: BTensor, text: BTensor, opts?: { inclusive?: boolean }): Promise<RaterSelection> {
    const [V, D] = shapeOf(visual, 2, 'visual');
    const [T, Dt] = shapeOf(text, 2, 'text');
    if (Dt !== D) throw new KernelInputError('raterSelect', 'text', `(T, ${D})`, `[${text.shape}]`);
    const { relevance, raters } = raterSelectReference(
      f32(visual, 'visual'),
      f32(text, 'text'),
      V,
      T,
      D,
      opts?.inclusive ?? false,
    );
    return { relevance, raters };
  }

  raterAttention(query: BTensor, key: BTensor, args: RaterAttentionArgs): RaterAttention {
    const [H, Lq, hd] = shapeOf(query, 3, 'query');
    const [Hkv, Tk, hdk] = shapeOf(key, 3, 'key');
    if (hdk !== hd) throw new KernelInputError('raterAttention', 'key', `(Hkv, T, ${hd})`, `[${key.shape}]`);
    const rows = host(args.queryRows, 'queryRows').data;
    const res = raterAttentionReference(
      f32(query, 'query'),
      f32(key, 'key'),
      rows,
      { heads: H, kvHeads: Hkv, headDim: hd, queryLength: Lq, keyLength: Tk },
      {
        visualStart: args.visualStart,
        visualCount: args.visualCount,
        topHeads: args.topHeads,
        gravity: args.gravity && {
          positions: Int32Array.from(host(args.gravity.positions, 'positions').data),
          ropeTheta: args.gravity.ropeTheta,
        },
      },
    );
    return {
      block: new CpuTensor(res.block, [rows.length, args.visualCount], 'f32'),
      scores: new CpuTensor(res.scores, [args.visualCount], 'f32'),
    };
  }

  async rankEstimate(block: BTensor): Promise<number> {
    const [R, V] = shapeOf(block, 2, 'block');
    return rankEstimateReference(f32(block, 'block'), R, V);
  }

  topkKeep(scores: BTensor, k: number): TopkKeep {
    const [V] = shapeOf(scores, 1, 'scores');
    const { keep, order } = topkKeepReference(f32(scores, 'scores'), k);
    return { keep: new CpuTensor(keep, [keep.length], 'u32'), order: new CpuTensor(order, [V], 'u32') };
  }

  dpcKnnMerge(hidden: BTensor, candidates: BTensor, clusters: number, variant: RecycleVariant): DpcKnnMerge {
    const [, D] = shapeOf(hidden, 2, 'hidden');
    const rows = host(candidates, 'candidates').data;
    const res = dpcKnnMergeReference(f32(hidden, 'hidden'), D, rows, clusters, variant);
    return {
      merged: new CpuTensor(res.merged, [clusters, D], 'f32'),
      assignment: new CpuTensor(res.assignment, [rows.length], 'u32'),
      centers: new CpuTensor(res.centers, [clusters], 'u32'),
    };
  }

  diversitySelect(visual: BTensor, k: number): BTensor {
    const [V, D] = shapeOf(visual, 2, 'visual');
    const { keep } = divpruneSelectReference(f32(visual, 'visual'), V, D, k);
    return new CpuTensor(keep, [k], 'u32');
  }

  gather(src: BTensor, extra: BTensor | null, rows: BTensor): BTensor {
    const s = host(src, 'src');
    const [, W] = shapeOf(src, 2, 'src');
    let e = extra ? host(extra, 'extra') : null;
    // Merged tokens are f32; f16 hidden rows take them as f16 (the graph's dtype).
    if (e && s.dtype === 'f16' && e.dtype === 'f32')
      e = new CpuTensor(castF32ToF16Reference(e.data as Float32Array), e.shape, 'f16');
    if (e && (e.dtype !== s.dtype || shapeOf(e, 2, 'extra')[1] !== W)) {
      throw new KernelInputError('gather', 'extra', `(C, ${W}) ${s.dtype}`, `[${e.shape}] ${e.dtype}`);
    }
    const r = host(rows, 'rows').data;
    const out = gatherTokensReference(s.data, e ? e.data : null, r, W);
    return new CpuTensor(out, src.shape.length === 1 ? [r.length] : [r.length, W], s.dtype);
  }
}
