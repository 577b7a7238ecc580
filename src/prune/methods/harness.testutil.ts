/**
 * Test harness (tests only): a toy layer stack that gives each method real layer outputs to
 * decide on, and applies its plans exactly as the engine contract says (backend.gather of
 * hidden rows and positions). Each toy "layer" is hidden' = tanh(hidden·W), query/key =
 * hidden'·Wq/Wk split into heads (no RoPE: the methods never look inside). Deterministic.
 */
import { CpuPruneBackend, CpuTensor } from '../cpuBackend';
import type { LayerContext, ModelDims, PruneMethod, RequestContext, SequenceLayout } from '../method';
import type { StageTrace } from '../../common/trace';
import { seededRandom } from '../../common/random';

/** Seeded values on [−0.5, 0.5): the shared generator, centred. */
export function rng(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() - 0.5;
}

export function randomArray(n: number, random: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => random() * scale);
}

export function toyDims(numLayers: number, visualTokens: number): ModelDims {
  return {
    numLayers,
    hiddenSize: 16,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 4,
    intermediateSize: 32,
    ropeTheta: 10000,
    visualTokens,
  };
}

function matmul(x: Float32Array, rows: number, inner: number, w: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let i = 0; i < inner; i++) s += x[r * inner + i] * w[i * cols + c];
      out[r * cols + c] = s;
    }
  return out;
}

/** (L, H·hd) → (H, L, hd). */
function toHeads(x: Float32Array, L: number, H: number, hd: number): Float32Array {
  const out = new Float32Array(H * L * hd);
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++) for (let d = 0; d < hd; d++) out[(h * L + l) * hd + d] = x[l * H * hd + h * hd + d];
  return out;
}

export interface ToyRequest {
  backend: CpuPruneBackend;
  dims: ModelDims;
  layout: SequenceLayout;
  embeds: Float32Array; // (L, D)
  /** Scale of the query projection: 0 makes every attention row uniform (all-equal scores). */
  queryScale?: number;
  seed?: number;
  /** Override text embeddings given to raterSelect (T, D); default: the text rows of embeds. */
  textEmbeds?: Float32Array;
}

export interface ToyRun {
  visualPerLayer: number[];
  stages: StageTrace[];
  /** Layout and origin entering each layer. */
  layouts: SequenceLayout[];
  origins: Int32Array[];
  positionsPerLayer: Int32Array[];
  /** Hidden rows entering the layer after each stage's plan (for merged-row checks). */
  hiddenAfterStage: Float32Array[];
  contexts: LayerContext[];
}

export function toyRequest(dims: ModelDims, layout: SequenceLayout, seed = 1, queryScale = 1): ToyRequest {
  const L = layout.preLength + layout.visualCount + layout.textLength;
  return {
    backend: new CpuPruneBackend(),
    dims,
    layout,
    embeds: randomArray(L * dims.hiddenSize, rng(seed), 2),
    queryScale,
    seed,
  };
}

/** Runs prefill through the toy stack with `method`, applying every plan. */
export async function runToy(method: PruneMethod, req: ToyRequest): Promise<ToyRun> {
  const { backend, dims } = req;
  const D = dims.hiddenSize;
  const H = dims.numHeads;
  const hd = dims.headDim;
  const random = rng((req.seed ?? 1) * 7919);
  const weights = Array.from({ length: dims.numLayers }, () => ({
    w: randomArray(D * D, random, 0.8),
    wq: randomArray(D * H * hd, random, req.queryScale ?? 1),
    wk: randomArray(D * H * hd, random, 1),
  }));
  let layout = req.layout;
  let L = layout.preLength + layout.visualCount + layout.textLength;
  const visualOrigin = Int32Array.from({ length: layout.visualCount }, (_, i) => i);
  const embeds = new CpuTensor(req.embeds, [L, D], 'f32');
  const vStart = layout.preLength * D;
  const tStart = (layout.preLength + layout.visualCount) * D;
  const request: RequestContext = {
    backend,
    dims,
    layout,
    embeds,
    visualEmbeds: new CpuTensor(req.embeds.slice(vStart, tStart), [layout.visualCount, D], 'f32'),
    textEmbeds: new CpuTensor(req.textEmbeds ?? req.embeds.slice(tStart), [layout.textLength, D], 'f32'),
    visualOrigin,
  };
  let hidden: CpuTensor = embeds;
  let positions = new CpuTensor(
    Int32Array.from({ length: L }, (_, i) => i),
    [L],
    'i32',
  );
  let origin: Int32Array = visualOrigin;
  const run: ToyRun = {
    visualPerLayer: [],
    stages: [],
    layouts: [],
    origins: [],
    positionsPerLayer: [],
    hiddenAfterStage: [],
    contexts: [],
  };

  const apply = (plan: NonNullable<Awaited<ReturnType<PruneMethod['begin']>>>) => {
    hidden = backend.gather(hidden, plan.merged, plan.rows) as CpuTensor;
    const newL = plan.rows.shape[0];
    positions =
      plan.positions === 'renumber'
        ? new CpuTensor(
            Int32Array.from({ length: newL }, (_, i) => i),
            [newL],
            'i32',
          )
        : (backend.gather(positions, null, plan.rows) as CpuTensor);
    layout = plan.layout;
    origin = plan.visualOrigin;
    L = newL;
    run.stages.push(plan.trace);
    run.hiddenAfterStage.push(hidden.data as Float32Array);
  };

  const first = await method.begin(request);
  if (first) apply(first);
  for (let layer = 0; layer < dims.numLayers; layer++) {
    run.visualPerLayer.push(layout.visualCount);
    run.layouts.push(layout);
    run.origins.push(origin);
    run.positionsPerLayer.push(positions.data as Int32Array);
    const { w, wq, wk } = weights[layer];
    const out = matmul(hidden.data as Float32Array, L, D, w, D).map(Math.tanh);
    const ctx: LayerContext = {
      ...request,
      layout,
      visualOrigin: origin,
      layer,
      hidden: new CpuTensor(out, [L, D], 'f32'),
      query: new CpuTensor(toHeads(matmul(out, L, D, wq, H * hd), L, H, hd), [H, L, hd], 'f32'),
      key: new CpuTensor(toHeads(matmul(out, L, D, wk, H * hd), L, H, hd), [H, L, hd], 'f32'),
      positions,
    };
    run.contexts.push(ctx);
    hidden = ctx.hidden as CpuTensor;
    const plan = await method.afterLayer(ctx);
    if (plan) apply(plan);
  }
  return run;
}

/**
 * Scores by a plain loop, independent of the kernels: head-mean causal softmax (scale 1/√hd)
 * of the given cache rows at the visual columns, averaged over the rows.
 */
export function plainScores(ctx: LayerContext, rows: number[]): number[] {
  const q = (ctx.query as CpuTensor).data as Float32Array;
  const k = (ctx.key as CpuTensor).data as Float32Array;
  const [H, L, hd] = ctx.query.shape;
  const { preLength, visualCount } = ctx.layout;
  const scores = new Array<number>(visualCount).fill(0);
  for (const c of rows)
    for (let h = 0; h < H; h++) {
      const logits: number[] = [];
      for (let j = 0; j <= c; j++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[(h * L + c) * hd + d] * k[(h * L + j) * hd + d];
        logits.push(s / Math.sqrt(hd));
      }
      const max = Math.max(...logits);
      const denom = logits.reduce((a, x) => a + Math.exp(x - max), 0);
      for (let v = 0; v < visualCount; v++) {
        const j = preLength + v;
        if (j <= c) scores[v] += Math.exp(logits[j] - max) / denom / H / rows.length;
      }
    }
  return scores;
}
