/**
 * A decoder layer whose weights live in GPU buffers of ours (graphRewrite.ts: lifted to graph
 * inputs), shared by two sessions: `prefill` (any shape, no capture, onnxruntime's shared
 * buffer cache) and the decode session capturedDecode.ts makes per cache capacity. `run` has
 * the package's layer I/O (docs/ARCHITECTURE.md), so prefill.ts and the benches call it as
 * they call a plain session: it adds the weights and the causal `attn_bias` the rewritten
 * graph reads instead of making the mask from shapes.
 */
import { BIAS_INPUT, type LiftedWeight } from './graphRewrite';
import type { GpuBuffers } from './gpuBuffers';
import type { OrtSession, OrtTensor } from './ortEnv';

type Feeds = Record<string, OrtTensor>;
type Outputs = Awaited<ReturnType<OrtSession['run']>>;

/** What prefill and decode call on a layer: a plain session or a lifted layer. */
export interface LayerSession {
  run(feeds: Feeds): Promise<Outputs>;
  release(): Promise<void>;
}

/**
 * Causal additive mask for S new queries after P cached keys, [S, P+S] row-major: query i
 * (cache index P+i) sees keys 0..P+i (0), not the later ones (−∞). The CPU twin of what the
 * converter's graph computed from shapes (attention.ts `causalAllowed`).
 */
export function causalBias(S: number, P: number): Float32Array {
  const T = P + S;
  const out = new Float32Array(S * T);
  for (let i = 0; i < S; i++) out.fill(-Infinity, i * T + P + i + 1, (i + 1) * T);
  return out;
}

/**
 * Causal biases by (S, P), shared by every layer of a package: a request needs one per sequence
 * length (a few after pruning), each uploaded once ([S, P+S] f32: 1.4 MB at 590 tokens).
 */
export class CausalBiases {
  private cache = new Map<string, OrtTensor>();
  constructor(
    private readonly gpu: GpuBuffers,
    private readonly keep = 4,
  ) {}

  async get(S: number, P: number): Promise<OrtTensor> {
    const key = `${S},${P}`;
    let t = this.cache.get(key);
    if (t) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, t);
      return t;
    }
    if (this.cache.size >= this.keep) {
      const [oldKey, old] = this.cache.entries().next().value!;
      this.cache.delete(oldKey);
      old.dispose(); // WebGPU frees it once the queued work that reads it is done
    }
    const data = causalBias(S, P);
    t = (await this.gpu.tensor('float32', [1, 1, S, P + S], data, data.byteLength, 'Engine.attn_bias')).tensor;
    this.cache.set(key, t);
    return t;
  }

  release(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}

/**
 * Lifted weights uploaded for a package's layers, each once: a layer's weight whose name, dims and
 * bytes equal the previous layer's shares that layer's GPU buffer. In our packages that is the
 * rope tables (`rope_cos`/`rope_sin`, the same in every layer graph: [positions, hd/2], 2 MiB a
 * layer at LLaVA-1.5-7B's 4096 × 64 f32, 62 MiB over 32 layers that plain sessions hold once per
 * layer). Only the previous layer's bytes are kept for the comparison, so loading never holds
 * more than one extra layer of weights in memory.
 */
export class WeightUploads {
  private previous = new Map<string, { weight: LiftedWeight; tensor: OrtTensor }>();
  private readonly users = new Map<OrtTensor, number>();
  /** Weights that shared an earlier layer's buffer (tests and the bench read it). */
  shared = 0;

  constructor(private readonly gpu: GpuBuffers) {}

  async upload(label: string, lifted: LiftedWeight[]): Promise<Feeds> {
    const feeds: Feeds = {};
    const next = new Map<string, { weight: LiftedWeight; tensor: OrtTensor }>();
    for (const w of lifted) {
      const prev = this.previous.get(w.name);
      let tensor: OrtTensor;
      if (prev && sameWeight(prev.weight, w)) {
        tensor = prev.tensor;
        this.shared += 1;
      } else {
        tensor = (await this.gpu.tensor(w.type, w.dims, w.bytes, w.bytes.byteLength, `${label}:${w.name}`)).tensor;
      }
      this.users.set(tensor, (this.users.get(tensor) ?? 0) + 1);
      feeds[w.name] = tensor;
      next.set(w.name, { weight: w, tensor });
    }
    this.previous = next;
    return feeds;
  }

  /** Loading is over: drop the last layer's bytes. */
  done(): void {
    this.previous.clear();
  }

  /** One layer lets go of its weights; a buffer is freed when its last layer does. */
  release(feeds: Feeds): void {
    for (const t of Object.values(feeds)) {
      const n = (this.users.get(t) ?? 1) - 1;
      if (n > 0) this.users.set(t, n);
      else {
        this.users.delete(t);
        t.dispose();
      }
    }
  }
}

function sameWeight(a: LiftedWeight, b: LiftedWeight): boolean {
  if (a.type !== b.type || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return false;
  const x = a.bytes;
  const y = b.bytes;
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

export class LiftedLayer implements LayerSession {
  constructor(
    readonly label: string,
    readonly prefill: OrtSession,
    /** The rewritten graph (weights and mask as inputs), kept to make decode sessions from. */
    readonly model: Uint8Array,
    /** The weights as ORT tensors on our GPU buffers, by input name (some shared with other layers). */
    readonly weights: Feeds,
    private readonly biases: CausalBiases,
    private readonly uploads: WeightUploads,
  ) {}

  async run(feeds: Feeds): Promise<Outputs> {
    const S = feeds.hidden.dims[1];
    const P = feeds.past_key.dims[2];
    return this.prefill.run({ ...feeds, ...this.weights, [BIAS_INPUT]: await this.biases.get(S, P) });
  }

  async release(): Promise<void> {
    await this.prefill.release().catch(() => {});
    this.uploads.release(this.weights);
  }
}
