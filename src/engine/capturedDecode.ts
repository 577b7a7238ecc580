/**
 * Decode through onnxruntime's WebGPU graph capture: decode sessions made from the rewritten
 * layer graphs (graphRewrite.ts: weights and mask as inputs, outputs the new token's key/value),
 * each for a run of consecutive layers (`layersPerSession`, default all of them: one session
 * run per token, graphRewrite.ts item 5), run with the same GPU buffers every token, so
 * onnxruntime records its dispatches once and replays them (no per-dispatch bind groups,
 * uniforms or shape logic on the CPU). Everything that changes per token lives in GPU buffers:
 *
 * - each layer's KV cache is a fixed-capacity buffer [1,Hkv,cap,hd] (read-only input) with an
 *   additive mask [1,1,1,cap+1] over its slots (−∞ = empty; the last column is the new token
 *   itself, always 0). The graph attends over the cache and the new row (without concatenating
 *   them: graphRewrite.ts item 4) and outputs the new rows;
 *   after the token went through every layer, kv_write (one dispatch per layer, recorded with
 *   fixed bind groups) copies them to each layer's own logical length and opens that slot —
 *   pruned layers are shorter, each has its own length;
 * - positions are int64 buffers per layer, written before the token (each layer's own, for
 *   methods that renumber);
 * - hidden states ping-pong between two [1,1,D] buffers; the embedding writes the first
 *   (pre-allocated output), the head reads the last (plain sessions: no capture needed there).
 *
 * Capacity: each layer's cache is sized at a request's start to its prefill length plus the
 * larger of 64 and the request's answer (its maxNewTokens), rounded up to 64 (`capacity`), and
 * kept for later requests (a captured graph is tied to its buffers); a kept cache too small for
 * the new request is made anew at the start, not mid-answer. Growth is the fallback (a request
 * that did not say how long its answer may be): a layer that fills up mid-request gets a twice
 * larger cache, and its segment's session is made anew and captured again, a stall of the
 * answer in mid-stream (32 layers in one session at the 7B shape).
 * Weights are not duplicated: both sessions of a layer read the engine's weight buffers, and the
 * decode graph attends without cache-sized intermediates (graphRewrite.ts, item 4), which a
 * capture session would otherwise keep for good.
 */
import { KvWrite } from '../gpu/kernels/kv_write';
import type { KernelRunner } from '../gpu/runner';
import { cancelled } from './errors';
import { BIAS_INPUT, KEY_NEW, VALUE_NEW, decodeOutputs, mergeDecodeGraphs, segmentName } from './graphRewrite';
import type { GpuBuffers } from './gpuBuffers';
import type { LiftedLayer } from './liftedLayer';
import { sessionOptions, type OrtRuntime, type OrtSession, type OrtTensor } from './ortEnv';
import type { Manifest } from '../package/manifest';
import type { TensorOps } from './ops';
import type { PruneMethod } from '../prune/method';
import type { LayerCache } from './layerCache';

type Feeds = Record<string, OrtTensor>;

/**
 * A cache's capacity for a prefill of `rows` and an answer of up to `answer` tokens: rows + the
 * larger of headroom and answer, rounded up to a multiple of step. `sizeForAnswer: false`: the
 * decoder leaves the request's answer out (tests use it to exercise growth).
 */
export interface CapacityPolicy {
  headroom: number;
  step: number;
  sizeForAnswer?: boolean;
}
export const DEFAULT_CAPACITY: CapacityPolicy = { headroom: 64, step: 64 };
export const capacityFor = (rows: number, p: CapacityPolicy = DEFAULT_CAPACITY, answer = 0): number =>
  Math.ceil((rows + Math.max(p.headroom, answer)) / p.step) * p.step;

interface Buf {
  buffer: GPUBuffer;
  tensor: OrtTensor;
}

/** One layer's fixed decode state: every buffer a decode session binds for it. */
interface DecodeLayer {
  cap: number;
  key: Buf;
  value: Buf;
  bias: Buf;
  position: Buf;
  keyNew: Buf;
  valueNew: Buf;
  params: GPUBuffer;
}

/** A capture session for layers first..first+count−1, with what it binds. */
interface Segment {
  first: number;
  count: number;
  session: OrtSession;
  feeds: Feeds;
  fetches: Feeds;
}

export interface CapturedDecodeCounts {
  /** Decode sessions made (one per segment of `layersPerSession` layers, plus one per growth). */
  sessions: number;
  /** Tokens run through the captured path. */
  steps: number;
  /**
   * CPU time (ms, summed over steps) of each part of a step, as the JS thread sees it: position
   * uploads, the embedding run, the layers' replays, the kv_write pass, the head run. The GPU
   * runs behind; these are what the CPU pays per token (README, "what limits each phase").
   */
  cpuMs: { positions: number; embed: number; layers: number; kvWrite: number; head: number };
}

export class CapturedDecoder {
  private layers: (DecodeLayer | null)[];
  private decodeModels: (Uint8Array | null)[];
  /** Segment s covers layers s·size .. s·size+size−1; null until its first step (or after a layer of it changed). */
  private segments: (Segment | null)[] = [];
  private size: number;
  private hidden: [Buf, Buf] | null = null;
  /** u32 per layer: the row each layer's new key/value goes to (kv_write's `slots`). */
  private slots: Buf | null = null;
  private loadSlots: Buf | null = null;
  private lens: number[] = [];
  private runner: KernelRunner | null = null;
  private kv: KvWrite | null = null;
  private readonly el: number;
  /** How large each layer's cache is made (tests shrink it to exercise growth). */
  capacity: CapacityPolicy = DEFAULT_CAPACITY;
  /** The current request's answer length at most (`start`): the rows its decode adds. */
  private answer = 0;
  readonly counts: CapturedDecodeCounts = {
    sessions: 0,
    steps: 0,
    cpuMs: { positions: 0, embed: 0, layers: 0, kvWrite: 0, head: 0 },
  };

  constructor(
    private readonly rt: OrtRuntime,
    private readonly manifest: Manifest,
    private readonly lifted: LiftedLayer[],
    private readonly embed: OrtSession,
    private readonly head: OrtSession,
    private readonly gpu: GpuBuffers,
  ) {
    const n = lifted.length;
    this.el = manifest.activationDtype === 'float16' ? 2 : 4;
    this.layers = new Array(n).fill(null);
    this.decodeModels = new Array(n).fill(null);
    this.size = n;
    this.segments = [null];
  }

  /**
   * Layers per decode session (1 … the layer count; default all). Fewer sessions, less CPU per
   * token; a request can be cancelled between sessions (every session of the step runs or none).
   * Changing it drops the sessions made so far.
   */
  get layersPerSession(): number {
    return this.size;
  }
  set layersPerSession(n: number) {
    const layers = this.lifted.length;
    if (!Number.isInteger(n) || n < 1 || n > layers)
      throw new RangeError(`layers per decode session must be an integer from 1 to ${layers}, got ${n}`);
    if (n === this.size) return;
    const old = this.segments;
    this.size = n;
    this.segments = new Array(Math.ceil(layers / n)).fill(null);
    this.retired.push(...old.filter((g): g is Segment => g !== null));
  }

  /** Sessions dropped while a step may still hold them; released at the next step's start. */
  private retired: Segment[] = [];

  /** Buffers shared by every layer, made with the first request. */
  private async shared(): Promise<void> {
    if (this.hidden) return;
    const D = this.manifest.text.hiddenSize;
    const n = this.lifted.length;
    this.hidden = [
      await this.gpu.tensor(this.act, [1, 1, D], null, D * this.el, 'Decode.hidden0'),
      await this.gpu.tensor(this.act, [1, 1, D], null, D * this.el, 'Decode.hidden1'),
    ];
    this.slots = await this.gpu.tensor('uint32', [n], null, 4 * n, 'Decode.slots');
    this.loadSlots = await this.gpu.tensor('uint32', [4], null, 16, 'Decode.loadSlots');
  }

  /** The engine's kernel runner on onnxruntime's device (the one door, STYLE.md rule 3). */
  async attach(runner: KernelRunner): Promise<void> {
    this.runner = runner;
    this.kv = new KvWrite(runner);
    await runner.warm(KvWrite.specs());
  }

  get ready(): boolean {
    return this.runner !== null;
  }

  private get act(): 'float32' | 'float16' {
    return this.manifest.activationDtype === 'float16' ? 'float16' : 'float32';
  }

  private shape(cap: number, n: number, srcRows: number) {
    const { numKvHeads: Hkv, headDim: hd } = this.manifest.text;
    return { W: (hd * this.el) / 4, heads: Hkv, srcRows, dstRows: cap, n };
  }

  /** Layer l's buffers at capacity `cap`; the session that binds them is made anew (`segment`). */
  private async makeLayer(l: number, cap: number): Promise<DecodeLayer> {
    const { numKvHeads: Hkv, headDim: hd } = this.manifest.text;
    const g = this.gpu;
    const act = this.act;
    const label = `Decode.layer${l}`;
    const key = await g.tensor(act, [1, Hkv, cap, hd], null, Hkv * cap * hd * this.el, `${label}.key`);
    const value = await g.tensor(act, [1, Hkv, cap, hd], null, Hkv * cap * hd * this.el, `${label}.value`);
    const bias = await g.tensor('float32', [1, 1, 1, cap + 1], null, (cap + 1) * 4, `${label}.bias`);
    const position = await g.tensor('int64', [1, 1], null, 8, `${label}.position`);
    const keyNew = await g.tensor(act, [1, Hkv, 1, hd], null, Hkv * hd * this.el, `${label}.keyNew`);
    const valueNew = await g.tensor(act, [1, Hkv, 1, hd], null, Hkv * hd * this.el, `${label}.valueNew`);
    await this.dropSegment(Math.floor(l / this.size));
    return {
      cap,
      key,
      value,
      bias,
      position,
      keyNew,
      valueNew,
      params: this.kv!.params(this.shape(cap, 1, 1), l),
    };
  }

  /** Segment s's capture session over its layers' current buffers. */
  private async segment(s: number): Promise<Segment> {
    const made = this.segments[s];
    if (made) return made;
    const first = s * this.size;
    const count = Math.min(this.size, this.lifted.length - first);
    const models: Uint8Array[] = [];
    for (let l = first; l < first + count; l++) {
      this.decodeModels[l] ??= decodeOutputs(this.lifted[l].label, this.lifted[l].model, this.manifest.text);
      models.push(this.decodeModels[l]!);
    }
    const name = (i: number, n: string) => (count === 1 ? n : segmentName(i, n));
    const session = await this.rt.ort.InferenceSession.create(
      mergeDecodeGraphs(`decode_layers_${first}_${first + count - 1}`, models),
      {
        ...sessionOptions(this.rt, ['hidden_out', ...models.flatMap((_, i) => [name(i, KEY_NEW), name(i, VALUE_NEW)])]),
        // The EP reads `enableGraphCapture` only when the provider is given as an object
        // (ort.webgpu.mjs setExecutionProviders); with the string 'webgpu' nothing is captured.
        executionProviders: [{ name: 'webgpu' }],
        enableGraphCapture: true,
      },
    );
    this.counts.sessions++;
    const feeds: Feeds = { hidden: this.hidden![s % 2].tensor };
    const fetches: Feeds = { hidden_out: this.hidden![(s + 1) % 2].tensor };
    for (let i = 0; i < count; i++) {
      const l = first + i;
      const d = this.layers[l]!;
      Object.assign(feeds, {
        [name(i, 'position_ids')]: d.position.tensor,
        [name(i, 'past_key')]: d.key.tensor,
        [name(i, 'past_value')]: d.value.tensor,
        [name(i, BIAS_INPUT)]: d.bias.tensor,
      });
      for (const [w, t] of Object.entries(this.lifted[l].weights)) feeds[name(i, w)] = t;
      fetches[name(i, KEY_NEW)] = d.keyNew.tensor;
      fetches[name(i, VALUE_NEW)] = d.valueNew.tensor;
    }
    return (this.segments[s] = { first, count, session, feeds, fetches });
  }

  private async dropSegment(s: number): Promise<void> {
    const g = this.segments[s];
    this.segments[s] = null;
    if (g) await g.session.release().catch(() => {});
  }

  private dropLayer(d: DecodeLayer): void {
    for (const b of [d.key, d.value, d.bias, d.position, d.keyNew, d.valueNew]) b.tensor.dispose();
    d.params.destroy();
  }

  /** Mask of a cache holding no rows yet: every slot −∞, the new token's own column 0. */
  private resetBias(d: DecodeLayer): void {
    const bias = new Float32Array(d.cap + 1).fill(-Infinity);
    bias[d.cap] = 0;
    this.gpu.device.queue.writeBuffer(d.bias.buffer, 0, bias);
  }

  /**
   * A request's start: each layer's prefill KV [1,Hkv,len,hd] into its fixed cache; `copied(c)`
   * after each layer's copy is submitted (the caller frees that prefill cache there). Prefill
   * does the same layer by layer as it goes (`start`, then `load` after each layer's hook), so
   * that the prefill KV is never held for every layer at once; `begin` serves the follow-up path,
   * whose caches come whole from a kept conversation.
   */
  async begin(caches: LayerCache[], copied?: (c: LayerCache) => void, answer = 0): Promise<void> {
    await this.start(answer);
    for (const [l, c] of caches.entries()) {
      await this.load(l, c);
      copied?.(c);
    }
  }

  /**
   * A request's start: the shared buffers exist, no layer holds rows of this request yet. `answer`:
   * the most tokens the request may generate (its maxNewTokens; 0 when unknown), which `load`
   * makes room for.
   */
  async start(answer = 0): Promise<void> {
    this.answer = answer;
    await this.shared();
    this.lens = new Array(this.lifted.length).fill(0);
  }

  /**
   * Layer l's prefill KV [1,Hkv,len,hd] into its fixed cache (made, or made larger, first). The
   * copy is submitted when this returns: the caller may free the prefill cache at once (its
   * reads are ordered before any later use of those buffers).
   */
  async load(l: number, c: LayerCache): Promise<void> {
    let d = this.layers[l];
    const answer = this.capacity.sizeForAnswer === false ? 0 : this.answer;
    if (!d || d.cap < c.length + Math.max(1, answer)) {
      if (d) this.dropLayer(d);
      d = this.layers[l] = await this.makeLayer(l, capacityFor(c.length, this.capacity, answer));
    }
    this.resetBias(d);
    this.lens[l] = c.length;
    if (c.length > 0) {
      this.kv!.run(
        {
          slots: this.loadSlots!.buffer,
          srcK: c.key.gpuBuffer,
          srcV: c.value.gpuBuffer,
          dstK: d.key.buffer,
          dstV: d.value.buffer,
          bias: d.bias.buffer,
        },
        { ...this.shape(d.cap, c.length, c.length), at: 0 },
      );
      this.runner!.door.flush();
    }
  }

  /** A full layer: a twice larger cache (and a new decode session), its rows copied over. */
  private async grow(l: number): Promise<void> {
    const old = this.layers[l]!;
    const d = await this.makeLayer(l, old.cap * 2);
    this.resetBias(d);
    this.kv!.run(
      {
        slots: this.loadSlots!.buffer,
        srcK: old.key.buffer,
        srcV: old.value.buffer,
        dstK: d.key.buffer,
        dstV: d.value.buffer,
        bias: d.bias.buffer,
      },
      { ...this.shape(d.cap, this.lens[l], old.cap), at: 0 },
    );
    this.layers[l] = d;
    this.dropLayer(old);
  }

  /**
   * Token `tokenId` (the `step`-th generated) through embed, every layer and the head. Returns
   * the logits [1, Vocab] (a GPU buffer of onnxruntime's; the caller disposes them).
   */
  async step(
    ops: TensorOps,
    method: PruneMethod,
    unprunedLength: number,
    tokenId: number,
    step: number,
    signal?: AbortSignal,
  ): Promise<OrtTensor> {
    if (signal?.aborted) throw cancelled(`decode step ${step}`);
    const queue = this.gpu.device.queue;
    const ms = this.counts.cpuMs;
    let t = performance.now();
    const lap = (part: keyof CapturedDecodeCounts['cpuMs']) => {
      const now = performance.now();
      ms[part] += now - t;
      t = now;
    };
    for (let l = 0; l < this.layers.length; l++) {
      if (this.lens[l] + 1 > this.layers[l]!.cap) await this.grow(l);
      const position = method.decodePositions === 'unpruned-length' ? unprunedLength + step : this.lens[l];
      queue.writeBuffer(this.layers[l]!.position.buffer, 0, BigInt64Array.of(BigInt(position)));
    }
    lap('positions');
    const ids = ops.ids([tokenId]);
    try {
      await this.embed.run({ input_ids: ids }, { embeds: this.hidden![0].tensor });
    } finally {
      ids.dispose();
    }
    lap('embed');
    for (const g of this.retired.splice(0)) await g.session.release().catch(() => {});
    for (let s = 0; s < this.segments.length; s++) {
      if (signal?.aborted) throw cancelled(`decode step ${step}, layer ${s * this.size}`);
      const g = await this.segment(s);
      await g.session.run(g.feeds, g.fetches);
    }
    lap('layers');
    // The head before kv_write: kv_write is a submit of ours and must come after the replays'
    // commands; onnxruntime's Replay submits them before returning (webgpu_context.cc), and the
    // head's run flushes whatever else is pending. (The token drift of 2026-12-02 was not an
    // ordering problem but a stale key_new/value_new: graphRewrite.ts, item 3.)
    const logits = (await this.head.run({ hidden: this.hidden![this.segments.length % 2].tensor })).logits;
    lap('head');
    // The new rows into every layer's cache at its own length, in one pass.
    queue.writeBuffer(this.slots!.buffer, 0, Uint32Array.from(this.lens));
    this.runner!.run(KvWrite.owner, (pass) => {
      for (const d of this.layers) {
        this.kv!.encode(
          pass,
          d!.params,
          {
            slots: this.slots!.buffer,
            srcK: d!.keyNew.buffer,
            srcV: d!.valueNew.buffer,
            dstK: d!.key.buffer,
            dstV: d!.value.buffer,
            bias: d!.bias.buffer,
          },
          this.shape(d!.cap, 1, 1),
        );
      }
    });
    this.runner!.door.flush();
    for (let l = 0; l < this.lens.length; l++) this.lens[l] += 1;
    this.counts.steps++;
    lap('kvWrite');
    return logits;
  }

  /** Frees every layer's cache and decode session; the next request makes them again. */
  async dropCaches(): Promise<void> {
    await this.dropSessions();
    for (const d of this.layers) if (d) this.dropLayer(d);
    this.layers.fill(null);
  }

  private async dropSessions(): Promise<void> {
    for (let s = 0; s < this.segments.length; s++) await this.dropSegment(s);
    for (const g of this.retired.splice(0)) await g.session.release().catch(() => {});
  }

  /**
   * Each layer's fixed cache as the last step left it: buffers [1,Hkv,capacity,hd], `length`
   * rows filled (empty before the first request). A conversation kept after a request copies
   * them out (conversation.ts `copyFixedCache`) before the next request's `begin` reuses them.
   */
  fixedCaches(): {
    key: GPUBuffer;
    value: GPUBuffer;
    keyTensor: OrtTensor;
    valueTensor: OrtTensor;
    capacity: number;
    length: number;
  }[] {
    return this.layers.flatMap((d, l) =>
      d
        ? [
            {
              key: d.key.buffer,
              value: d.value.buffer,
              keyTensor: d.key.tensor,
              valueTensor: d.value.tensor,
              capacity: d.cap,
              length: this.lens[l],
            },
          ]
        : [],
    );
  }

  /** The decode session that runs layer l (null before the first step): tests hook its `run`. */
  layerSession(l: number): OrtSession | null {
    return this.segments[Math.floor(l / this.size)]?.session ?? null;
  }

  /** Each layer's cache capacity (0 before the first request). */
  get capacities(): number[] {
    return this.layers.map((d) => d?.cap ?? 0);
  }

  /**
   * GPU buffers this decoder holds that onnxruntime allocated: none when GpuBuffers makes exact
   * buffers of ours (the default); else six per layer with a cache plus the shared hidden/slot
   * buffers, which onnxruntime's shared buffer cache serves (lifecycle.test.ts says why that
   * matters).
   */
  get onnxruntimeBuffers(): number {
    if (this.gpu.exact) return 0;
    const shared = [...(this.hidden ?? []), this.slots, this.loadSlots].filter(Boolean).length;
    return shared + 6 * this.layers.filter(Boolean).length;
  }

  async release(): Promise<void> {
    await this.dropCaches();
    for (const b of [...(this.hidden ?? []), this.slots, this.loadSlots]) b?.tensor.dispose();
    this.hidden = this.slots = this.loadSlots = null;
  }
}
