/**
 * Prefill: vision → embed → splice → layer 0 … n−1 with the method's hook after each layer →
 * head. Hidden, KV and query stay where ORT put them (GPU buffers on WebGPU); only the plan's
 * row list (a decision, for 'keep' positions), the method's trace and the first-step logits
 * (Vocab, for `firstStepTopLogits` and the golden checks) come to the CPU.
 *
 * Sequence after the splice: [pre (preLength) | visual (V) | text (T)], L = pre + V + T.
 *
 * Timing: the phase clock (phaseClock.ts) is marked at each phase boundary; prefill returns the
 * mark indices and the engine turns them into ms once the request's marks are resolved. With
 * the GPU clock nothing here waits for the GPU except the method's own decision reads and the
 * logits read, so the CPU enqueues layer l+1 while the GPU runs layer l. A method that says it
 * does not act after a layer (`actsAfter(l) === false`) costs nothing there: no context, no
 * positions upload, no marks.
 */
import { cancelled } from './errors';
import type { BackendBridge } from './bridge';
import type { LoadedPackage } from './loader';
import type { Ort, OrtTensor } from './ortEnv';
import type { RowBlock, TensorOps } from './ops';
import type { LayerContext, ModelDims, PruneMethod, PrunePlan, RequestContext, SequenceLayout } from '../prune/method';
import type { PhaseClock } from './phaseClock';
import type { StageTrace } from '../common/trace';
import type { LayerCache } from './layerCache';

/**
 * CPU (JS-thread wall time) of prefill's layer session runs, summed over requests, split by
 * whether the layer ran on the full prompt or on a pruned sequence: the bench prints it
 * (bench/gpu/prefill-variants.ts), as decode.ts's `plainDecodeCounts` for decode.
 */
export const prefillRunCounts = { full: { runs: 0, ms: 0 }, pruned: { runs: 0, ms: 0 } };

export interface PrefillResult {
  caches: LayerCache[];
  logits: Float32Array;
  layout: SequenceLayout;
  visualPerLayer: number[];
  stages: StageTrace[];
  /** Phase-clock mark indices; `prefillTimings` turns them into ms once resolved. */
  marks: PrefillMarks;
}

/** Boundaries on the phase clock. Each phase runs from the previous boundary to its own. */
export interface PrefillMarks {
  start: number;
  vision: number;
  embed: number;
  /** After `method.begin` (and its plan). */
  begin: number;
  /** Per layer: after the layer, and after its hook (the same mark when the hook did not act). */
  layers: { layer: number; hook: number }[];
  /** After the head and the first-step logits read. */
  head: number;
}

export interface PrefillTimings {
  visionMs: number;
  embedMs: number;
  layerMs: number[];
  /** `begin` plus every hook that acted. */
  methodMs: number;
  headMs: number;
}

export function prefillTimings(marks: PrefillMarks, span: (from: number, to: number) => number): PrefillTimings {
  let prev = marks.begin;
  let methodMs = span(marks.embed, marks.begin);
  const layerMs: number[] = [];
  for (const { layer, hook } of marks.layers) {
    layerMs.push(span(prev, layer));
    methodMs += span(layer, hook);
    prev = hook;
  }
  return {
    visionMs: span(marks.start, marks.vision),
    embedMs: span(marks.vision, marks.embed),
    layerMs,
    methodMs,
    headMs: span(prev, marks.head),
  };
}

export interface PrefillArgs {
  ort: Ort;
  pkg: LoadedPackage;
  ops: TensorOps;
  bridge: BackendBridge;
  dims: ModelDims;
  method: PruneMethod;
  /** Marked at each phase boundary (reset by the caller for the request). */
  clock: PhaseClock;
  inputIds: number[];
  layout: SequenceLayout;
  /** One image's pixel values, or several images' in prompt order (each [1,3,H,W]). */
  pixels: { data: Float32Array; dims: number[] } | { data: Float32Array; dims: number[] }[];
  /** Where each image's tokens sit in inputIds (several images); absent = one block at the layout's visual block. */
  imageBlocks?: { start: number; count: number }[];
  /** Video-LLaVA frames: run the package's video tower (graphs.videoVision) instead of vision.onnx. */
  videoTower?: boolean;
  /** Image i's vision embeddings from the engine's cache (never disposed here), or null: run vision.onnx. */
  cachedVisual?: (image: number) => OrtTensor | null;
  /** A freshly computed embedding of image i: true = the engine's cache keeps it (not disposed here). */
  keepVisual?: (image: number, tensor: OrtTensor) => boolean;
  /**
   * Where each layer's KV goes once the method's hook after that layer is done (its last reader:
   * a plan never touches earlier layers' caches): captured decode's fixed caches
   * (`CapturedDecoder.load`). The prefill cache is freed right after, so the request never holds
   * every layer's prefill KV and every fixed cache at once (peak GPU bytes), and `caches` comes
   * back empty. Absent: the caches are returned (wasm, plain decode).
   */
  storeCache?: (layer: number, cache: LayerCache) => Promise<void>;
  signal?: AbortSignal;
  /** Tensors to dispose when the request ends, however it ends. */
  track: (tensor: OrtTensor) => OrtTensor;
  untrack: (tensor: OrtTensor) => void;
}

export async function prefill(args: PrefillArgs): Promise<PrefillResult> {
  const { ort, pkg, ops, bridge, dims, method, clock, track, untrack } = args;
  const s = pkg.sessions;
  const D = dims.hiddenSize;
  const check = (phase: string) => {
    if (args.signal?.aborted) throw cancelled(phase);
  };
  const dispose = (t: OrtTensor) => {
    untrack(t);
    t.dispose();
  };

  check('vision');
  const start = await clock.mark('Prefill.start');
  const pixelList = Array.isArray(args.pixels) ? args.pixels : [args.pixels];
  const visuals: OrtTensor[] = [];
  const owned: boolean[] = []; // false: the engine's vision cache holds it
  for (const [i, px] of pixelList.entries()) {
    const hit = args.cachedVisual?.(i) ?? null;
    if (hit) {
      visuals.push(hit);
      owned.push(false);
      continue;
    }
    const tower = args.videoTower ? s.videoVision : s.vision;
    if (!tower)
      throw new Error('video frames for the video tower, but the package has none (manifest graphs.videoVision)');
    const t = (await tower.run({ pixel_values: new ort.Tensor('float32', px.data, px.dims) })).visual_embeds;
    const cached = args.keepVisual?.(i, t) ?? false;
    visuals.push(cached ? t : track(t));
    owned.push(!cached);
  }
  const visionMark = await clock.mark('Prefill.vision');

  check('embedding');
  const embeds = track((await s.embed.run({ input_ids: track(ops.ids(args.inputIds)) })).embeds);
  let layout = { ...args.layout };
  const { preLength: pre, visualCount: V, textLength: T } = layout;
  // Several images: the visual block spans them all, template tokens between them included.
  const blocks = args.imageBlocks ?? [{ start: pre, count: V }];
  if (blocks.length !== visuals.length)
    throw new Error(`${visuals.length} images for ${blocks.length} image blocks in the prompt`);
  const pieces: RowBlock[] = [];
  let cursor = 0;
  for (const [i, b] of blocks.entries()) {
    if (visuals[i].dims[1] !== b.count)
      throw new Error(`vision.onnx gave ${visuals[i].dims[1]} visual tokens, the prompt has ${b.count} for image ${i}`);
    pieces.push(
      { tensor: embeds, fromRow: cursor, rows: b.start - cursor },
      { tensor: visuals[i], fromRow: 0, rows: b.count },
    );
    cursor = b.start + b.count;
  }
  pieces.push({ tensor: embeds, fromRow: cursor, rows: pre + V + T - cursor });
  let hidden = track(ops.concatRows(pieces, D));
  // The visual block's rows as the methods see them (raters): the projector output for one
  // image, the spliced span (images and the template tokens between them) for several.
  const visual =
    visuals.length === 1 ? visuals[0] : track(ops.concatRows([{ tensor: hidden, fromRow: pre, rows: V }], D));
  if (visuals.length > 1)
    visuals.forEach((v, i) => {
      if (owned[i]) dispose(v);
    });
  const text = track(ops.concatRows([{ tensor: embeds, fromRow: pre + V, rows: T }], D));
  dispose(embeds);
  const embedMark = await clock.mark('Prefill.embed');

  let L = pre + V + T;
  let positions = Int32Array.from({ length: L }, (_, i) => i);
  // int64 [1, L] on the GPU for the layers, uploaded once per sequence: positions change only
  // where a plan applies, so a request uploads one per stage, not one per layer (tracked: they
  // are given back when the request ends).
  let positionIds: OrtTensor | null = null;
  const ctx: RequestContext = {
    backend: bridge.backend,
    dims,
    layout,
    embeds: bridge.view(hidden, [L, D]),
    visualEmbeds: bridge.view(visual, [V, D]),
    textEmbeds: bridge.view(text, [T, D]),
    visualOrigin: Int32Array.from({ length: V }, (_, i) => i),
  };
  const stages: StageTrace[] = [];

  /** Apply a plan to the sequence entering the next layer. */
  const apply = async (plan: PrunePlan, hiddenB: ReturnType<BackendBridge['view']>): Promise<void> => {
    const rows = (await bridge.backend.read(plan.rows)) as Uint32Array; // decision data, (L')
    const gathered = bridge.backend.gather(hiddenB, plan.merged, plan.rows);
    const nextHidden = track(bridge.toOrt(gathered, [1, rows.length, D]));
    dispose(hidden);
    hidden = nextHidden;
    // Positions are tiny host data (uploaded as int64 per run): renumber, or keep the old ones;
    // a merged row (index ≥ L) takes the position of the row before it.
    const next = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      next[i] = plan.positions === 'renumber' ? i : rows[i] < L ? positions[rows[i]] : i > 0 ? next[i - 1] : 0;
    }
    positions = next;
    positionIds = null; // the next layer uploads the new ones
    bridge.backend.release(plan.rows);
    if (plan.merged) bridge.backend.release(plan.merged);
    L = rows.length;
    layout = { ...plan.layout };
    ctx.layout = layout;
    ctx.visualOrigin = plan.visualOrigin;
    stages.push(plan.trace);
  };

  const first = await method.begin(ctx);
  if (first) await apply(first, ctx.embeds);
  const beginMark = await clock.mark('Prefill.begin');

  const caches: LayerCache[] = [];
  const visualPerLayer: number[] = [];
  const layerMarks: PrefillMarks['layers'] = [];
  const act = pkg.manifest.activationDtype;
  const emptyKv = () =>
    new ort.Tensor(act, act === 'float16' ? new Uint16Array(0) : new Float32Array(0), [
      1,
      dims.numKvHeads,
      0,
      dims.headDim,
    ]);
  for (const [l, layer] of s.layers.entries()) {
    check(`layer ${l}`);
    visualPerLayer.push(layout.visualCount);
    const runStart = performance.now();
    positionIds ??= track(ops.ids(positions));
    const out = await layer.run({ hidden, position_ids: positionIds, past_key: emptyKv(), past_value: emptyKv() });
    const counted = prefillRunCounts[L < pre + V + T ? 'pruned' : 'full'];
    counted.runs++;
    counted.ms += performance.now() - runStart;
    dispose(hidden);
    hidden = track(out.hidden_out);
    const cache: LayerCache = { key: track(out.present_key), value: track(out.present_value), length: L };
    const query = track(out.query);
    const layerMark = await clock.mark(`Prefill.layer${l}`);
    if (method.actsAfter?.(l) === false) {
      dispose(query);
      layerMarks.push({ layer: layerMark, hook: layerMark });
    } else {
      const lctx: LayerContext = {
        ...ctx,
        layer: l,
        hidden: bridge.view(hidden, [L, D]),
        query: bridge.view(query, [dims.numHeads, L, dims.headDim]),
        key: bridge.view(cache.key, [dims.numKvHeads, L, dims.headDim]),
        positions: bridge.backend.upload(positions.slice(), [L]),
      };
      const plan = await method.afterLayer(lctx);
      bridge.backend.release(lctx.positions);
      dispose(query);
      if (plan) await apply(plan, lctx.hidden);
      layerMarks.push({ layer: layerMark, hook: await clock.mark(`Prefill.hook${l}`) });
    }
    // After the hook: on the phase clock the copy counts in the next layer's span (KV traffic,
    // as the layer's own present writes), not in the method's.
    if (args.storeCache) {
      await args.storeCache(l, cache);
      dispose(cache.key);
      dispose(cache.value);
    } else caches.push(cache);
  }
  if (visuals.length > 1 || owned[0]) dispose(visual);
  dispose(text);

  check('head');
  const logitsT = (await s.head.run({ hidden })).logits;
  const logits = (await logitsT.getData(true)) as Float32Array; // the one full-logits read of a request
  logitsT.dispose();
  const headMark = await clock.mark('Prefill.head');
  dispose(hidden);
  const marks: PrefillMarks = {
    start,
    vision: visionMark,
    embed: embedMark,
    begin: beginMark,
    layers: layerMarks,
    head: headMark,
  };
  return { caches, logits, layout, visualPerLayer, stages, marks };
}
