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

export class LiftedLayer implements LayerSession {
  constructor(
    readonly label: string,
    readonly prefill: OrtSession,
    /** The rewritten graph (weights and mask as inputs), kept to make decode sessions from. */
    readonly model: Uint8Array,
    /** The weights as ORT tensors on our GPU buffers, by input name. */
    readonly weights: Feeds,
    private readonly biases: CausalBiases,
  ) {}

  static async upload(gpu: GpuBuffers, label: string, lifted: LiftedWeight[]): Promise<Feeds> {
    const feeds: Feeds = {};
    for (const w of lifted)
      feeds[w.name] = (await gpu.tensor(w.type, w.dims, w.bytes, w.bytes.byteLength, `${label}:${w.name}`)).tensor;
    return feeds;
  }

  async run(feeds: Feeds): Promise<Outputs> {
    const S = feeds.hidden.dims[1];
    const P = feeds.past_key.dims[2];
    return this.prefill.run({ ...feeds, ...this.weights, [BIAS_INPUT]: await this.biases.get(S, P) });
  }

  async release(): Promise<void> {
    await this.prefill.release().catch(() => {});
    for (const t of Object.values(this.weights)) t.dispose();
  }
}
