/**
 * The Node reference runner: executes a model package with onnxruntime-node on the CPU,
 * graph by graph, the way the browser engine will (vision → splice at image tokens →
 * layer 0…n−1 each with its own KV cache → head), then greedy-decodes. No pruning, no
 * GPU: it is the yardstick the converter's golden tests and the engine's tests use.
 */
import * as ort from 'onnxruntime-node';

export type ActType = 'float32' | 'float16';
type ActArray = Float32Array | Uint16Array;

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

export class ReferenceError extends Error {
  override readonly name = 'ReferenceError';
  constructor(readonly detail: string, readonly data: Record<string, unknown> = {}) {
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
    for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]);
    return out;
  }
  throw new ReferenceError(`unexpected output type ${t.type}`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
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
    return new ReferenceRunner(model, await session(model.vision), await session(model.embed), layers, await session(model.head));
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

  private emptyCache() {
    const { act, numKvHeads, headDim } = this.model;
    const empty = () => new ort.Tensor(act, act === 'float32' ? new Float32Array(0) : new Uint16Array(0), [1, numKvHeads, 0, headDim]);
    return this.layers.map(() => ({ key: empty(), value: empty() }));
  }

  /** Prefill the prompt (image tokens replaced by the vision graph's rows), then greedy decode. */
  async generate(inputIds: number[], pixelValues: Float32Array, newTokens: number): Promise<GenerateResult> {
    const { imageTokenId } = this.model;
    const pixels = new ort.Tensor('float32', pixelValues, [1, 3, Math.sqrt(pixelValues.length / 3), Math.sqrt(pixelValues.length / 3)]);
    const visual = (await this.vision.run({ pixel_values: pixels })).visual_embeds; // [1,Vp,D]
    const embeds = await this.embedTokens(inputIds); // [1,S,D]
    const [, Vp, D] = visual.dims;
    const slots = inputIds.flatMap((id, i) => (id === imageTokenId ? [i] : []));
    if (slots.length !== Vp) {
      throw new ReferenceError(`prompt has ${slots.length} image tokens but the vision graph gave ${Vp} visual tokens`, { slots: slots.length, Vp });
    }
    // Splice: the k-th image token's row becomes the k-th visual row (HF masked_scatter order).
    const seq = (embeds.data as ActArray).slice();
    const vis = visual.data as ActArray;
    slots.forEach((pos, k) => seq.set(vis.subarray(k * D, (k + 1) * D), pos * D));
    const hidden = new ort.Tensor(this.model.act, seq, [1, inputIds.length, D]);

    const cache = this.emptyCache();
    const prefill = await this.layersStep(hidden, inputIds.map((_, i) => i), cache);
    const firstLogits = toF32((await this.head.run({ hidden: prefill.hidden })).logits).slice();
    const tokens = [argmax(firstLogits)];
    for (let step = 1; step < newTokens; step++) {
      const position = inputIds.length + step - 1;
      const h = await this.embedTokens([tokens[tokens.length - 1]]);
      const out = await this.layersStep(h, [position], cache);
      tokens.push(argmax(toF32((await this.head.run({ hidden: out.hidden })).logits)));
    }
    return { firstLogits, tokens, visualEmbeds: toF32(visual).slice(), hiddenAfterLayer0: toF32(prefill.afterLayer0).slice() };
  }
}
