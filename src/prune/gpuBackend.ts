import type {
  DpcKnnMerge,
  PruneBackend,
  RaterAttention,
  RaterAttentionArgs,
  RaterSelection,
  ReadPart,
  RecycleVariant,
  TopkKeep,
} from './backend';
import type { GpuDoor } from '../gpu/device';
import { KernelRunner } from '../gpu/runner';
import { GpuProfiler, measureWall } from '../gpu/profiler';
import { GpuTensor } from '../gpu/tensor';
import { shapeOf } from '../gpu/shapes';
import { KernelInputError } from '../gpu/kernels/errors';
import { RaterSelectKernel } from '../gpu/kernels/rater_select';
import { RaterAttentionKernel } from '../gpu/kernels/rater_attention';
import { validateRaterAttention } from '../gpu/kernels/rater_attention.reference';
import { RankEstimateKernel } from '../gpu/kernels/rank_estimate';
import { TopkKeepKernel } from '../gpu/kernels/topk_keep';
import { DpcKnnMergeKernel } from '../gpu/kernels/dpc_knn_merge';
import { DivpruneSelectKernel } from '../gpu/kernels/divprune_select';
import { GatherTokens } from '../gpu/kernels/gather_tokens';
import { SelectRowsKernel } from '../gpu/kernels/select_rows';
import { CastF16Kernel } from '../gpu/kernels/cast_f16';
import type { KernelSpec } from '../gpu/runner';
import { dtypeOf } from './cpuBackend';
import type { BDtype, BTensor, HostArray } from '../common/tensor';

function gpu(tensor: BTensor, name: string): GpuTensor {
  if (!(tensor instanceof GpuTensor))
    throw new KernelInputError('GpuPruneBackend', name, 'a GpuTensor', tensor.constructor.name);
  return tensor;
}

function needDtype(tensor: GpuTensor, name: string, dtype: BDtype): void {
  if (tensor.dtype !== dtype) throw new KernelInputError('GpuPruneBackend', name, dtype, tensor.dtype);
}

/** Uploads up to this size keep a host copy, so reading them back is free (row lists, positions). */
const HOST_COPY_MAX_ELEMENTS = 16384;

function hostView(dtype: BDtype, bytes: ArrayBuffer): HostArray {
  return dtype === 'f32'
    ? new Float32Array(bytes)
    : dtype === 'i32'
      ? new Int32Array(bytes)
      : dtype === 'f16'
        ? new Uint16Array(bytes)
        : new Uint32Array(bytes);
}

/** Whole 4-byte words (buffer sizes and copies must be multiples of 4). */
const words = (bytes: number) => Math.ceil(bytes / 4) * 4;

/**
 * The WGSL kernels behind the PruneBackend interface, on the door's device (ORT's in the
 * app). Outputs come from the door's pool; `release` returns them. Tensors from ORT enter
 * through `wrap` and are never released into our pool. f16 activations (fp16/q4f16 graphs)
 * are cast to f32 pool buffers as a kernel reads them (cast_f16.wgsl, core WGSL: no
 * `shader-f16` needed), released once the kernel is encoded; `gather` copies f16 rows as
 * they are and casts f32 merged rows to f16 (src/gpu/README.md, "f16 activations").
 *
 * Round trips (issue 4): kernels encode into the door's pending encoder; a read submits it
 * with its copy (one submit, one mapAsync), `readMany` reads several tensors that way at
 * once, and reading an uploaded tensor returns its host copy. A SparseVLM stage is thus one
 * submit and one read-back (methods/scoredStage.ts). `warmup()` compiles every pipeline.
 */
export class GpuPruneBackend implements PruneBackend {
  readonly kind = 'gpu' as const;
  readonly runner: KernelRunner;
  private readonly k: {
    raterSelect: RaterSelectKernel;
    raterAttention: RaterAttentionKernel;
    rank: RankEstimateKernel;
    topk: TopkKeepKernel;
    dpc: DpcKnnMergeKernel;
    divprune: DivpruneSelectKernel;
    gather: GatherTokens;
    selectRows: SelectRowsKernel;
    cast: CastF16Kernel;
  };
  /** Timestamp profiler, present while `profile(true)`. */
  profiler: GpuProfiler | null = null;

  constructor(readonly door: GpuDoor) {
    this.runner = new KernelRunner(door);
    const r = this.runner;
    this.k = {
      raterSelect: new RaterSelectKernel(r),
      raterAttention: new RaterAttentionKernel(r),
      rank: new RankEstimateKernel(r),
      topk: new TopkKeepKernel(r),
      dpc: new DpcKnnMergeKernel(r),
      divprune: new DivpruneSelectKernel(r),
      gather: new GatherTokens(r),
      selectRows: new SelectRowsKernel(r),
      cast: new CastF16Kernel(r),
    };
  }

  /** Every pipeline the backend can dispatch. */
  static specs(): KernelSpec[] {
    return [
      RaterSelectKernel,
      RaterAttentionKernel,
      RankEstimateKernel,
      TopkKeepKernel,
      DpcKnnMergeKernel,
      DivpruneSelectKernel,
      GatherTokens,
      SelectRowsKernel,
      CastF16Kernel,
    ].flatMap((k) => k.specs());
  }

  /**
   * Compile every pipeline now (asynchronously, in parallel), so the first request does not
   * wait for shader compilation. Call once per device at model load; idempotent.
   */
  warmup(): Promise<void> {
    return this.runner.warm(GpuPruneBackend.specs());
  }

  /** Turn per-pass GPU timestamps on or off ('timestamp-query' adapters only; wall time otherwise). */
  profile(on: boolean): GpuProfiler | null {
    if (on && !this.profiler) this.profiler = new GpuProfiler(this.door);
    if (!on && this.profiler) {
      this.profiler.destroy();
      this.profiler = null;
    }
    this.runner.profiler = this.profiler;
    return this.profiler;
  }

  /** Wall time of `fn`'s GPU work: awaits the queue before and after. */
  measure<T>(fn: () => T | Promise<T>): Promise<{ result: T; ms: number }> {
    return measureWall(this.door.device, async () => {
      const result = await fn();
      this.door.flush(); // pending kernels count as the measured work
      return result;
    });
  }

  /** A buffer we do not own (ORT's output) as a tensor; `release` leaves it alone. */
  wrap(buffer: GPUBuffer, shape: readonly number[], dtype: BDtype = 'f32'): GpuTensor {
    return new GpuTensor(buffer, shape, dtype);
  }

  /**
   * The buffer behind a tensor (to hand to ORT with Tensor.fromGpuBuffer). Pending kernels are
   * submitted first (ORT's next commands must come after ours), and the host copy is dropped
   * (the buffer may now be written outside this backend).
   */
  bufferOf(tensor: BTensor): GPUBuffer {
    const g = gpu(tensor, 'bufferOf');
    this.door.flush();
    g.host = null;
    return g.buffer;
  }

  private alloc(shape: readonly number[], dtype: BDtype, label: string): GpuTensor {
    const elements = shape.reduce((a, b) => a * b, 1);
    return new GpuTensor(
      this.door.pool.acquire(words(Math.max(1, elements) * (dtype === 'f16' ? 2 : 4)), label),
      shape,
      dtype,
    );
  }

  upload(data: HostArray, shape: readonly number[]): BTensor {
    const elements = shape.reduce((a, b) => a * b, 1);
    if (data.length < elements)
      throw new KernelInputError('GpuPruneBackend', 'upload', `${elements} elements for [${shape}]`, `${data.length}`);
    const t = this.alloc(shape, dtypeOf(data), 'GpuPruneBackend.upload');
    // Dawn rejects views of SharedArrayBuffer: copy those (ENVIRONMENT.md); and writes whole
    // words only: an odd count of f16 is copied into a padded array.
    const padded = t.bytes % 4 !== 0;
    let view: HostArray =
      data.buffer instanceof ArrayBuffer && !padded ? data.subarray(0, elements) : data.slice(0, elements);
    if (padded) {
      const whole = new Uint16Array(elements + 1);
      whole.set(view);
      view = whole;
    }
    if (elements > 0)
      this.door.device.queue.writeBuffer(t.buffer, 0, view.buffer as ArrayBuffer, view.byteOffset, words(t.bytes));
    if (elements <= HOST_COPY_MAX_ELEMENTS) t.host = data.slice(0, elements);
    return t;
  }

  async read(tensor: BTensor): Promise<HostArray> {
    const g = gpu(tensor, 'read');
    if (g.host) return g.host.slice();
    const bytes =
      g.elements > 0
        ? await this.door.readbacks.read(g.buffer, 0, words(g.bytes), 'GpuPruneBackend.read')
        : new ArrayBuffer(0);
    return hostView(g.dtype, bytes.slice(0, g.bytes));
  }

  /**
   * An activation as an f32 buffer for a kernel: f32 as is; f16 cast into a pool buffer that
   * `done` releases once the kernel is encoded (pool releases wait for the submit).
   */
  private asF32(tensor: BTensor, name: string, temps: GPUBuffer[]): GPUBuffer {
    const g = gpu(tensor, name);
    if (g.dtype === 'f32') return g.buffer;
    if (g.dtype !== 'f16') throw new KernelInputError('GpuPruneBackend', name, 'f32 or f16', g.dtype);
    const out = this.door.pool.acquire(Math.max(1, g.elements) * 4, `CastF16.${name}`);
    temps.push(out);
    this.k.cast.toF32(g.buffer, g.elements, out);
    return out;
  }

  private done(temps: GPUBuffer[]): void {
    for (const b of temps) this.door.pool.release(b);
  }

  /**
   * Several tensors (or element ranges of them) in one read-back: the parts are copied into
   * one packed pool buffer in the pending encoder, then read with one submit and one mapAsync.
   */
  async readMany(parts: readonly ReadPart[]): Promise<HostArray[]> {
    const spans = parts.map((p, i) => {
      const g = gpu(p.tensor, `parts[${i}]`);
      if (g.dtype === 'f16')
        throw new KernelInputError('readMany', `parts[${i}]`, 'a 32-bit tensor (decisions, not activations)', g.dtype);
      const offset = p.offset ?? 0;
      const count = p.count ?? g.elements - offset;
      if (offset < 0 || count < 0 || offset + count > g.elements) {
        throw new KernelInputError(
          'readMany',
          `parts[${i}]`,
          `a range within ${g.elements} elements`,
          `[${offset}, ${offset + count})`,
        );
      }
      return { g, offset, count };
    });
    const device = spans.filter((s) => !s.g.host && s.count > 0);
    const total = device.reduce((a, s) => a + s.count, 0);
    let bytes = new ArrayBuffer(0);
    if (total > 0) {
      const pack = this.door.pool.acquire(total * 4, 'GpuPruneBackend.readMany');
      try {
        const enc = this.door.encoder();
        let at = 0;
        for (const s of device) {
          enc.copyBufferToBuffer(s.g.buffer, s.offset * 4, pack, at * 4, s.count * 4);
          at += s.count;
        }
        bytes = await this.door.readbacks.read(pack, 0, total * 4, 'GpuPruneBackend.read');
      } finally {
        this.door.pool.release(pack);
      }
    }
    let at = 0;
    return spans.map(({ g, offset, count }) => {
      if (g.host) return g.host.slice(offset, offset + count);
      if (count === 0) return hostView(g.dtype, new ArrayBuffer(0));
      const out = hostView(g.dtype, bytes.slice(at * 4, (at + count) * 4));
      at += count;
      return out;
    });
  }

  /**
   * Run a kernel into freshly allocated outputs; a refused input gives the outputs back to the
   * pool. `temps` (f16 casts of the inputs) are released either way.
   */
  private into<T>(outs: GpuTensor[], run: () => void, result: T, temps: GPUBuffer[] = []): T {
    try {
      run();
    } catch (e) {
      for (const t of outs) this.release(t);
      throw e;
    } finally {
      this.done(temps);
    }
    return result;
  }

  selectRows(src: BTensor, start: number, count: number, add: number): BTensor {
    const s = gpu(src, 'src');
    needDtype(s, 'src', 'u32');
    const out = this.alloc([count], 'u32', 'SelectRows.out');
    return this.into([out], () => this.k.selectRows.run(s.buffer, s.elements, start, count, add, out.buffer), out);
  }

  release(tensor: BTensor): void {
    this.door.pool.release(gpu(tensor, 'release').buffer);
  }

  async raterSelect(visual: BTensor, text: BTensor, opts?: { inclusive?: boolean }): Promise<RaterSelection> {
    const [V, D] = shapeOf(visual, 2, 'visual');
    const [T, Dt] = shapeOf(text, 2, 'text');
    if (Dt !== D) throw new KernelInputError('raterSelect', 'text', `(T, ${D})`, `[${text.shape}]`);
    const temps: GPUBuffer[] = [];
    try {
      return await this.k.raterSelect.run(
        this.asF32(visual, 'visual', temps),
        this.asF32(text, 'text', temps),
        V,
        T,
        D,
        opts?.inclusive ?? false,
      );
    } finally {
      this.done(temps);
    }
  }

  raterAttention(query: BTensor, key: BTensor, args: RaterAttentionArgs): RaterAttention {
    const [H, Lq, hd] = shapeOf(query, 3, 'query');
    const [Hkv, Tk, hdk] = shapeOf(key, 3, 'key');
    if (hdk !== hd) throw new KernelInputError('raterAttention', 'key', `(Hkv, T, ${hd})`, `[${key.shape}]`);
    const rows = gpu(args.queryRows, 'queryRows');
    const [R] = shapeOf(rows, 1, 'queryRows');
    const dims = { heads: H, kvHeads: Hkv, headDim: hd, queryLength: Lq, keyLength: Tk };
    // Row indices live on the GPU; the host validates everything else.
    validateRaterAttention(
      dims,
      { visualStart: args.visualStart, visualCount: args.visualCount, topHeads: args.topHeads },
      [],
    );
    const V = args.visualCount;
    const block = this.alloc([R, V], 'f32', 'RaterAttention.block');
    const scores = this.alloc([V], 'f32', 'RaterAttention.scores');
    const temps: GPUBuffer[] = [];
    return this.into(
      [block, scores],
      () =>
        this.k.raterAttention.run(
          this.asF32(query, 'query', temps),
          this.asF32(key, 'key', temps),
          rows.buffer,
          {
            ...dims,
            rowCount: R,
            visualStart: args.visualStart,
            visualCount: V,
            topHeads: args.topHeads,
            gravity: args.gravity && {
              positions: gpu(args.gravity.positions, 'positions').buffer,
              ropeTheta: args.gravity.ropeTheta,
            },
          },
          block.buffer,
          scores.buffer,
        ),
      { block, scores },
      temps,
    );
  }

  async rankEstimate(block: BTensor): Promise<number> {
    const [R, V] = shapeOf(block, 2, 'block');
    return (await this.k.rank.run(gpu(block, 'block').buffer, R, V)).rank;
  }

  /** Rank and the singular values (for the trace and the tests). */
  rankWithSingularValues(block: BTensor) {
    const [R, V] = shapeOf(block, 2, 'block');
    return this.k.rank.run(gpu(block, 'block').buffer, R, V);
  }

  topkKeep(scores: BTensor, k: number): TopkKeep {
    const s = gpu(scores, 'scores');
    needDtype(s, 'scores', 'f32');
    const [V] = shapeOf(s, 1, 'scores');
    const order = this.alloc([V], 'u32', 'TopkKeep.order');
    const keep = this.alloc([k], 'u32', 'TopkKeep.keep');
    return this.into([order, keep], () => this.k.topk.run(s.buffer, V, k, order.buffer, keep.buffer), { keep, order });
  }

  dpcKnnMerge(hidden: BTensor, candidates: BTensor, clusters: number, variant: RecycleVariant): DpcKnnMerge {
    const [, D] = shapeOf(hidden, 2, 'hidden');
    const c = gpu(candidates, 'candidates');
    const [N] = shapeOf(c, 1, 'candidates');
    const merged = this.alloc([clusters, D], 'f32', 'DpcKnnMerge.merged');
    const assignment = this.alloc([N], 'u32', 'DpcKnnMerge.assignment');
    const centers = this.alloc([clusters], 'u32', 'DpcKnnMerge.centers');
    const temps: GPUBuffer[] = [];
    return this.into(
      [merged, assignment, centers],
      () =>
        this.k.dpc.run(this.asF32(hidden, 'hidden', temps), D, c.buffer, N, clusters, variant, {
          merged: merged.buffer,
          assignment: assignment.buffer,
          centers: centers.buffer,
        }),
      { merged, assignment, centers },
      temps,
    );
  }

  diversitySelect(visual: BTensor, k: number): BTensor {
    const [V, D] = shapeOf(visual, 2, 'visual');
    const keep = this.alloc([k], 'u32', 'DivpruneSelect.keep');
    const temps: GPUBuffer[] = [];
    return this.into(
      [keep],
      () => this.k.divprune.run(this.asF32(visual, 'visual', temps), V, D, k, keep.buffer),
      keep,
      temps,
    );
  }

  gather(src: BTensor, extra: BTensor | null, rows: BTensor): BTensor {
    const s = gpu(src, 'src');
    const [L, W] = shapeOf(s, 2, 'src');
    const half = s.dtype === 'f16';
    // The kernel copies 32-bit words: f16 rows of even width are W/2 words each.
    if (half && W % 2 !== 0) throw new KernelInputError('gather', 'src', 'f16 rows of even width', `width ${W}`);
    const temps: GPUBuffer[] = [];
    let C = 0;
    let extraBuffer: GPUBuffer | null = null;
    if (extra) {
      const e = gpu(extra, 'extra');
      const [ce, we] = shapeOf(e, 2, 'extra');
      const castable = half && e.dtype === 'f32'; // merged tokens (f32) joining f16 rows
      if (we !== W || (e.dtype !== s.dtype && !castable))
        throw new KernelInputError('gather', 'extra', `(C, ${W}) ${s.dtype}`, `[${e.shape}] ${e.dtype}`);
      C = ce;
      extraBuffer = e.buffer;
      if (castable) {
        extraBuffer = this.door.pool.acquire(words(Math.max(1, e.elements) * 2), 'CastF16.extra');
        temps.push(extraBuffer);
        this.k.cast.toF16(e.buffer, e.elements, extraBuffer);
      }
    }
    const r = gpu(rows, 'rows');
    const [n] = shapeOf(r, 1, 'rows');
    const outShape = src.shape.length === 1 ? [n] : [n, W];
    const out = this.alloc(outShape, s.dtype, 'GatherTokens.out');
    return this.into(
      [out],
      () => this.k.gather.run(s.buffer, L, extraBuffer, C, r.buffer, n, half ? W / 2 : W, out.buffer),
      out,
      temps,
    );
  }
}
