/**
 * The Node reference runner: executes a model package with onnxruntime-node on the CPU,
 * graph by graph, the way the browser engine will (vision → splice at image tokens →
 * layer 0…n−1 each with its own KV cache → head), then greedy-decodes. No GPU: it is the
 * yardstick the converter's golden tests and the engine's tests use.
 *
 * `generatePruned` runs a pruning method between the layers with its own loop, written
 * apart from the engine's prefill/decode (src/engine): its own splice, plan application
 * (row gather, merged rows rounded to the graph's dtype, positions), per-layer caches and
 * decode positions, on onnxruntime-node's CPU EP, with the method seeing f32 copies of the
 * activations on the CPU backend. Only the method itself is shared with the engine.
 */
import * as ort from 'onnxruntime-node';
import { CpuPruneBackend, CpuTensor } from '../../../prune/cpuBackend';
import type {
  LayerContext,
  ModelDims,
  PruneMethod,
  PrunePlan,
  RequestContext,
  SequenceLayout,
} from '../../../prune/method';
import type { StageTrace } from '../../../common/trace';
import { f32ToF16, f16BitsToF32 } from '../../../common/float16';

export type ActType = 'float32' | 'float16';
type ActArray = Float32Array | Uint16Array;
/** Host activations we own (not views of a SharedArrayBuffer), as ORT tensors take them. */
type OwnedAct = Float32Array<ArrayBuffer> | Uint16Array<ArrayBuffer>;

/** A graph as bytes, with its external data file when it has one. */
export interface GraphBytes {
  model: Uint8Array;
  /** [file name as written in the graph, bytes] */
  data?: { path: string; bytes: Uint8Array };
}

export interface ReferenceModel {
  act: ActType;
  imageTokenId: number;
  numKvHeads: number;
  headDim: number;
  vision: GraphBytes;
  embed: GraphBytes;
  layers: GraphBytes[];
  head: GraphBytes;
}

export interface GenerateResult {
  /** logits f32 [Vocab] for the token after the prompt. */
  firstLogits: Float32Array;
  /** Greedy tokens, the first one from the prefill. */
  tokens: number[];
  /** visual_embeds [1,Vp,D] as f32, for checking the vision graph alone. */
  visualEmbeds: Float32Array;
  /** hidden_out of layer 0 over the prompt [1,S,D] as f32. */
  hiddenAfterLayer0: Float32Array;
}

export interface PrunedResult {
  firstLogits: Float32Array;
  tokens: number[];
  layout: SequenceLayout;
  /** Visual tokens entering each layer in prefill. */
  visualPerLayer: number[];
  stages: StageTrace[];
  raters: number[] | null;
  /** Bytes of each layer's K and V caches after the last token, read off the tensors held. */
  kvBytesPerLayer: number[];
  /** Per token: its logit minus the runner-up's (how clear each greedy decision was). */
  margins: number[];
}

/** Top logit minus the second. */
function margin(x: Float32Array): number {
  let a = -Infinity,
    b = -Infinity;
  for (const v of x) {
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) b = v;
  }
  return a - b;
}

export class ReferenceRunnerError extends Error {
  override readonly name = 'ReferenceRunnerError';
  constructor(
    readonly detail: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

async function session(g: GraphBytes): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (g.data) options.externalData = [{ path: g.data.path, data: g.data.bytes }];
  return ort.InferenceSession.create(g.model, options);
}

function toF32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const bits = t.data as Uint16Array;
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
    return out;
  }
  throw new ReferenceRunnerError(`unexpected output type ${t.type}`);
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

export class ReferenceRunner {
  private constructor(
    readonly model: ReferenceModel,
    private readonly vision: ort.InferenceSession,
    private readonly embed: ort.InferenceSession,
    private readonly layers: ort.InferenceSession[],
    private readonly head: ort.InferenceSession,
  ) {}

  static async create(model: ReferenceModel): Promise<ReferenceRunner> {
    const layers: ort.InferenceSession[] = [];
    for (const layer of model.layers) layers.push(await session(layer));
    return new ReferenceRunner(
      model,
      await session(model.vision),
      await session(model.embed),
      layers,
      await session(model.head),
    );
  }

  async release(): Promise<void> {
    for (const s of [this.vision, this.embed, ...this.layers, this.head]) await s.release();
  }

  private ids(tokens: number[]): ort.Tensor {
    return new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]);
  }

  private async embedTokens(tokens: number[]): Promise<ort.Tensor> {
    return (await this.embed.run({ input_ids: this.ids(tokens) })).embeds; // [1,S,D]
  }

  /** Runs every layer on hidden [1,S,D] at `positions`, extending `cache` in place. */
  private async layersStep(hidden: ort.Tensor, positions: number[], cache: { key: ort.Tensor; value: ort.Tensor }[]) {
    let h = hidden;
    let afterLayer0: ort.Tensor | undefined;
    for (let i = 0; i < this.layers.length; i++) {
      const out = await this.layers[i].run({
        hidden: h,
        position_ids: this.ids(positions),
        past_key: cache[i].key,
        past_value: cache[i].value,
      });
      cache[i] = { key: out.present_key, value: out.present_value };
      h = out.hidden_out;
      if (i === 0) afterLayer0 = h;
    }
    return { hidden: h, afterLayer0: afterLayer0! };
  }

  /** Host activations as a tensor of the graph's dtype. */
  private act(data: OwnedAct, dims: number[]): ort.Tensor {
    return this.model.act === 'float32'
      ? new ort.Tensor('float32', data as Float32Array, dims)
      : new ort.Tensor('float16', data as Uint16Array, dims);
  }

  private emptyCache() {
    const { act, numKvHeads, headDim } = this.model;
    const empty = () =>
      new ort.Tensor(act, act === 'float32' ? new Float32Array(0) : new Uint16Array(0), [1, numKvHeads, 0, headDim]);
    return this.layers.map(() => ({ key: empty(), value: empty() }));
  }

  /** Prefill the prompt (image tokens replaced by the vision graph's rows), then greedy decode. */
  async generate(inputIds: number[], pixelValues: Float32Array, newTokens: number): Promise<GenerateResult> {
    const { imageTokenId } = this.model;
    const pixels = new ort.Tensor('float32', pixelValues, [
      1,
      3,
      Math.sqrt(pixelValues.length / 3),
      Math.sqrt(pixelValues.length / 3),
    ]);
    const visual = (await this.vision.run({ pixel_values: pixels })).visual_embeds; // [1,Vp,D]
    const embeds = await this.embedTokens(inputIds); // [1,S,D]
    const [, Vp, D] = visual.dims;
    const slots = inputIds.flatMap((id, i) => (id === imageTokenId ? [i] : []));
    if (slots.length !== Vp) {
      throw new ReferenceRunnerError(
        `prompt has ${slots.length} image tokens but the vision graph gave ${Vp} visual tokens`,
        { slots: slots.length, Vp },
      );
    }
    // Splice: the k-th image token's row becomes the k-th visual row (HF masked_scatter order).
    const seq = (embeds.data as ActArray).slice();
    const vis = visual.data as ActArray;
    slots.forEach((pos, k) => seq.set(vis.subarray(k * D, (k + 1) * D), pos * D));
    const hidden = new ort.Tensor(this.model.act, seq, [1, inputIds.length, D]);

    const cache = this.emptyCache();
    const prefill = await this.layersStep(
      hidden,
      inputIds.map((_, i) => i),
      cache,
    );
    const firstLogits = toF32((await this.head.run({ hidden: prefill.hidden })).logits).slice();
    const tokens = [argmax(firstLogits)];
    for (let step = 1; step < newTokens; step++) {
      const position = inputIds.length + step - 1;
      const h = await this.embedTokens([tokens[tokens.length - 1]]);
      const out = await this.layersStep(h, [position], cache);
      tokens.push(argmax(toF32((await this.head.run({ hidden: out.hidden })).logits)));
    }
    return {
      firstLogits,
      tokens,
      visualEmbeds: toF32(visual).slice(),
      hiddenAfterLayer0: toF32(prefill.afterLayer0).slice(),
    };
  }

  /**
   * Like `generate`, with `method` pruning between the layers (the engine's contract,
   * src/prune/method.ts): `begin` before layer 0, `afterLayer` after each prefill layer, each
   * plan applied before the next layer; decode positions per `method.decodePositions`.
   */
  async generatePruned(
    inputIds: number[],
    pixelValues: Float32Array,
    method: PruneMethod,
    dims: ModelDims,
    newTokens: number,
    /** The method's backend: CpuPruneBackend, or a subclass that watches it (engine/decisionMargins.ts). */
    backend: CpuPruneBackend = new CpuPruneBackend(),
  ): Promise<PrunedResult> {
    const { imageTokenId, act } = this.model;
    const side = Math.sqrt(pixelValues.length / 3);
    const visual = (await this.vision.run({ pixel_values: new ort.Tensor('float32', pixelValues, [1, 3, side, side]) }))
      .visual_embeds;
    const embeds = await this.embedTokens(inputIds);
    const [, V, D] = visual.dims;
    const pre = inputIds.indexOf(imageTokenId);
    const slots = inputIds.filter((id) => id === imageTokenId).length;
    if (slots !== V || inputIds.slice(pre, pre + V).some((id) => id !== imageTokenId)) {
      throw new ReferenceRunnerError(`the prompt needs one block of ${V} image tokens, it has ${slots}`, { slots, V });
    }
    let layout: SequenceLayout = { preLength: pre, visualCount: V, textLength: inputIds.length - pre - V };
    let hidden = (embeds.data as OwnedAct).slice() as OwnedAct;
    hidden.set((visual.data as ActArray).subarray(0, V * D), pre * D);
    let L = inputIds.length;
    let positions = Array.from({ length: L }, (_, i) => i);
    const f32 = (data: OwnedAct, shape: number[]) =>
      new CpuTensor(
        act === 'float32' ? (data as Float32Array).slice() : toF32(this.act(data, [data.length])),
        shape,
        'f32',
      );
    const request: RequestContext = {
      backend,
      dims,
      layout,
      embeds: f32(hidden, [L, D]),
      visualEmbeds: f32(visual.data as OwnedAct, [V, D]),
      textEmbeds: f32((embeds.data as OwnedAct).slice((pre + V) * D) as OwnedAct, [layout.textLength, D]),
      visualOrigin: Int32Array.from({ length: V }, (_, i) => i),
    };
    const stages: StageTrace[] = [];
    const apply = (plan: PrunePlan, rowsOf: OwnedAct): OwnedAct => {
      const rows = (plan.rows as CpuTensor).data as Uint32Array;
      const mergedF32 = plan.merged ? ((plan.merged as CpuTensor).data as Float32Array) : null;
      // Merged rows enter the graph in its dtype (round to nearest even, like the converter).
      const merged = mergedF32 && (act === 'float16' ? f32ToF16(mergedF32) : mergedF32);
      const next = act === 'float16' ? new Uint16Array(rows.length * D) : new Float32Array(rows.length * D);
      const nextPositions: number[] = [];
      rows.forEach((r, i) => {
        if (r < L) next.set(rowsOf.subarray(r * D, r * D + D), i * D);
        else if (merged && r - L < plan.merged!.shape[0])
          next.set(merged.subarray((r - L) * D, (r - L + 1) * D), i * D);
        else
          throw new ReferenceRunnerError(
            `plan row ${r} is past the ${L} rows and ${plan.merged?.shape[0] ?? 0} merged ones`,
            { row: r },
          );
        if (plan.positions === 'keep' && r >= L)
          throw new ReferenceRunnerError('a plan that keeps positions added merged rows', { row: r });
        nextPositions.push(plan.positions === 'renumber' ? i : positions[r]);
      });
      L = rows.length;
      positions = nextPositions;
      layout = plan.layout;
      request.layout = layout;
      request.visualOrigin = plan.visualOrigin;
      stages.push(plan.trace);
      return next;
    };

    const first = await method.begin(request);
    if (first) hidden = apply(first, hidden);
    const cache: { key: ort.Tensor; value: ort.Tensor }[] = this.emptyCache();
    const visualPerLayer: number[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      visualPerLayer.push(layout.visualCount);
      const out = await this.layers[l].run({
        hidden: this.act(hidden, [1, L, D]),
        position_ids: this.ids(positions),
        past_key: cache[l].key,
        past_value: cache[l].value,
      });
      cache[l] = { key: out.present_key, value: out.present_value };
      hidden = out.hidden_out.data as OwnedAct;
      if (method.actsAfter?.(l) === false) continue;
      const [, H, , hd] = out.query.dims;
      const Hkv = out.present_key.dims[1];
      const lctx: LayerContext = {
        ...request,
        layout,
        layer: l,
        hidden: f32(hidden, [L, D]),
        query: f32(out.query.data as OwnedAct, [H, L, hd]),
        key: f32(out.present_key.data as OwnedAct, [Hkv, L, hd]),
        positions: new CpuTensor(Int32Array.from(positions), [L], 'i32'),
      };
      const plan = await method.afterLayer(lctx);
      if (plan) hidden = apply(plan, hidden);
    }
    const firstLogits = toF32((await this.head.run({ hidden: this.act(hidden, [1, L, D]) })).logits).slice();
    const tokens = [argmax(firstLogits)];
    const margins = [margin(firstLogits)];
    for (let step = 0; step < newTokens - 1; step++) {
      let h = await this.embedTokens([tokens[tokens.length - 1]]);
      for (let l = 0; l < this.layers.length; l++) {
        const position = method.decodePositions === 'unpruned-length' ? inputIds.length + step : cache[l].key.dims[2];
        const out = await this.layers[l].run({
          hidden: h,
          position_ids: this.ids([position]),
          past_key: cache[l].key,
          past_value: cache[l].value,
        });
        cache[l] = { key: out.present_key, value: out.present_value };
        h = out.hidden_out;
      }
      const logits = toF32((await this.head.run({ hidden: h })).logits);
      tokens.push(argmax(logits));
      margins.push(margin(logits));
    }
    const kvBytesPerLayer = cache.map(
      (c) => (c.key.data as ActArray).byteLength + (c.value.data as ActArray).byteLength,
    );
    return {
      firstLogits,
      tokens,
      layout: request.layout,
      visualPerLayer,
      stages,
      raters: method.raterSelection?.()?.raters ?? null,
      kvBytesPerLayer,
      margins,
    };
  }
}
