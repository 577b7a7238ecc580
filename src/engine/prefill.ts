/**
 * Prefill: vision → embed → splice → layer 0 … n−1 with the method's hook after each layer →
 * head. Hidden, KV and query stay where ORT put them (GPU buffers on WebGPU); only the plan's
 * row list (a decision, for 'keep' positions), the method's trace and the first-step logits
 * (Vocab, for `firstStepTopLogits` and the golden checks) come to the CPU.
 *
 * Sequence after the splice: [pre (preLength) | visual (V) | text (T)], L = pre + V + T.
 */
import { cancelled } from './errors';
import type { BackendBridge } from './bridge';
import type { LoadedPackage } from './loader';
import type { Ort, OrtTensor } from './ortEnv';
import type { TensorOps } from './ops';
import type { LayerContext, ModelDims, PruneMethod, PrunePlan, RequestContext, SequenceLayout } from '../prune/method';
import type { StageTrace } from './trace';

/** Each layer's own cache: K/V [1,Hkv,P,hd] and its length P. */
export interface LayerCache { key: OrtTensor; value: OrtTensor; length: number }

export interface PrefillResult {
  caches: LayerCache[];
  logits: Float32Array;
  layout: SequenceLayout;
  visualPerLayer: number[];
  stages: StageTrace[];
  layerMs: number[];
  visionMs: number;
  embedMs: number;
  methodMs: number;
  headMs: number;
}

export interface PrefillArgs {
  ort: Ort;
  pkg: LoadedPackage;
  ops: TensorOps;
  bridge: BackendBridge;
  dims: ModelDims;
  method: PruneMethod;
  inputIds: number[];
  layout: SequenceLayout;
  pixels: { data: Float32Array; dims: number[] };
  signal?: AbortSignal;
  /** Tensors to dispose when the request ends, however it ends. */
  track: (t: OrtTensor) => OrtTensor;
  untrack: (t: OrtTensor) => void;
}

const int64 = (ort: Ort, values: ArrayLike<number>) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(values), (v) => BigInt(v)), [1, values.length]);

export async function prefill(a: PrefillArgs): Promise<PrefillResult> {
  const { ort, pkg, ops, bridge, dims, method, track, untrack } = a;
  const s = pkg.sessions;
  const D = dims.hiddenSize;
  const check = (phase: string) => { if (a.signal?.aborted) throw cancelled(phase); };
  const now = () => performance.now();
  const dispose = (t: OrtTensor) => { untrack(t); t.dispose(); };

  let t0 = now();
  check('vision');
  const visual = track((await s.vision.run({ pixel_values: new ort.Tensor('float32', a.pixels.data, a.pixels.dims) })).visual_embeds);
  await ops.sync();
  const visionMs = now() - t0;

  t0 = now();
  check('embedding');
  const embeds = track((await s.embed.run({ input_ids: int64(ort, a.inputIds) })).embeds);
  let layout = { ...a.layout };
  const { preLength: pre, visualCount: V, textLength: T } = layout;
  if (visual.dims[1] !== V) throw new Error(`vision.onnx gave ${visual.dims[1]} visual tokens, the prompt has ${V}`);
  let hidden = track(ops.concatRows([
    { tensor: embeds, fromRow: 0, rows: pre },
    { tensor: visual, fromRow: 0, rows: V },
    { tensor: embeds, fromRow: pre + V, rows: T },
  ], D));
  const text = track(ops.concatRows([{ tensor: embeds, fromRow: pre + V, rows: T }], D));
  dispose(embeds);
  await ops.sync();
  const embedMs = now() - t0;

  let L = pre + V + T;
  let positions = Int32Array.from({ length: L }, (_, i) => i);
  const ctx: RequestContext = {
    backend: bridge.backend, dims, layout,
    embeds: bridge.view(hidden, [L, D]),
    visualEmbeds: bridge.view(visual, [V, D]),
    textEmbeds: bridge.view(text, [T, D]),
    visualOrigin: Int32Array.from({ length: V }, (_, i) => i),
  };
  const stages: StageTrace[] = [];
  let methodMs = 0;

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
    bridge.backend.release(plan.rows);
    if (plan.merged) bridge.backend.release(plan.merged);
    L = rows.length;
    layout = { ...plan.layout };
    ctx.layout = layout;
    ctx.visualOrigin = plan.visualOrigin;
    stages.push(plan.trace);
  };

  t0 = now();
  const first = await method.begin(ctx);
  if (first) await apply(first, ctx.embeds);
  methodMs += now() - t0;

  const caches: LayerCache[] = [];
  const visualPerLayer: number[] = [];
  const layerMs: number[] = [];
  const act = pkg.manifest.activationDtype;
  const emptyKv = () => new ort.Tensor(act, act === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, dims.numKvHeads, 0, dims.headDim]);
  for (const [l, layer] of s.layers.entries()) {
    check(`layer ${l}`);
    t0 = now();
    visualPerLayer.push(layout.visualCount);
    const out = await layer.run({ hidden, position_ids: int64(ort, positions), past_key: emptyKv(), past_value: emptyKv() });
    dispose(hidden);
    hidden = track(out.hidden_out);
    caches.push({ key: track(out.present_key), value: track(out.present_value), length: L });
    const query = track(out.query);
    await ops.sync();
    layerMs.push(now() - t0);

    t0 = now();
    const lctx: LayerContext = {
      ...ctx, layer: l,
      hidden: bridge.view(hidden, [L, D]),
      query: bridge.view(query, [dims.numHeads, L, dims.headDim]),
      key: bridge.view(caches[l].key, [dims.numKvHeads, L, dims.headDim]),
      positions: bridge.backend.upload(positions.slice(), [L]),
    };
    const plan = await method.afterLayer(lctx);
    bridge.backend.release(lctx.positions);
    dispose(query);
    if (plan) await apply(plan, lctx.hidden);
    methodMs += now() - t0;
  }
  dispose(visual);
  dispose(text);

  check('head');
  t0 = now();
  const logitsT = (await s.head.run({ hidden })).logits;
  const logits = (await logitsT.getData(true)) as Float32Array; // the one full-logits read of a request
  logitsT.dispose();
  const headMs = now() - t0;
  dispose(hidden);
  return { caches, logits, layout, visualPerLayer, stages, layerMs, visionMs, embedMs, methodMs, headMs };
}
