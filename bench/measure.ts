/**
 * The measuring loop, the same for Node and the browser: warm every method up, then run the
 * methods round-robin N times (so clock boost and thermal drift spread over all of them) and
 * reduce each run's RequestTrace to the figures of issue 6. Where the engine runs is a
 * BenchTarget's business.
 */
import type { RequestTrace } from '../src/common/trace';
import type { MethodSpec } from './args';
import { ratio, spread, type Spread } from './stats';

export interface RunOutcome {
  trace: RequestTrace;
  /** Highest live GPU bytes during the request (gpuMemory.ts), null where not countable. */
  peakGpuBytes: number | null;
}

export interface BenchTarget {
  generate(spec: MethodSpec, newTokens: number): Promise<RunOutcome>;
}

/** Per-run figures; every one is also reported as a ratio to `none`. */
export const FIGURES = {
  visionMs: 'vision encoder (ms)',
  llmPrefillMs: 'LLM prefill: embed + layers + pruning + head (ms)',
  layersMs: 'decoder layers only (ms)',
  methodMs: 'sparsification kernels (ms)',
  ttftMs: 'time to first token (ms)',
  decodeTokPerS: 'decode (tokens/s)',
  peakGpuBytes: 'peak GPU bytes live',
  kvBytes: 'KV-cache bytes (end of request)',
  flops: 'prefill FLOPs (reference formula)',
} as const;
export type FigureName = keyof typeof FIGURES;

export interface MethodResult {
  spec: string;
  method: string;
  budget: number | null;
  figures: Partial<Record<FigureName, Spread>>;
  /** Median of this method / median of `none`, same run; null where `none`'s is 0. */
  ratios: Partial<Record<FigureName, number | null>>;
  /** methodMs / llmPrefillMs (medians): the target is < 3 % for SparseVLM 64. */
  kernelShareOfPrefill: number;
  /** Median per-layer wall time (ms), layer order. */
  layerMs: number[];
  /** The prompt's layout (same for every method: pre + visual + text tokens before pruning). */
  layout: { preLength: number; visualCount: number; textLength: number };
  visualPerLayer: number[];
  stages: { layer: number; visualIn: number; visualOut: number }[];
  /** Decode steps actually timed per run (forced length minus the first token). */
  decodeSteps: number[];
  generatedIds: number[];
}

export function runFigures(o: RunOutcome): Partial<Record<FigureName, number>> {
  const t = o.trace.timings;
  const layersMs = t.layerMs.reduce((s, v) => s + v, 0);
  const decodeMs = t.decodeStepMs.reduce((s, v) => s + v, 0);
  const f: Partial<Record<FigureName, number>> = {
    visionMs: t.visionMs,
    llmPrefillMs: t.embedMs + layersMs + t.methodMs + t.headMs,
    layersMs,
    methodMs: t.methodMs,
    ttftMs: t.firstTokenMs,
    kvBytes: o.trace.cost.kvBytesPerLayer.reduce((s, v) => s + v, 0),
    flops: o.trace.cost.flops,
  };
  if (t.decodeStepMs.length > 0 && decodeMs > 0) f.decodeTokPerS = (t.decodeStepMs.length / decodeMs) * 1000;
  if (o.peakGpuBytes !== null) f.peakGpuBytes = o.peakGpuBytes;
  return f;
}

function median(xs: number[]): number {
  return spread(xs).median;
}

export function summarise(spec: MethodSpec, outcomes: RunOutcome[]): MethodResult {
  const perRun = outcomes.map(runFigures);
  const figures: Partial<Record<FigureName, Spread>> = {};
  for (const name of Object.keys(FIGURES) as FigureName[]) {
    const values = perRun.map((f) => f[name]).filter((v): v is number => v !== undefined);
    if (values.length === outcomes.length) figures[name] = spread(values);
  }
  const last = outcomes[outcomes.length - 1].trace;
  const layers = last.timings.layerMs.length;
  return {
    spec: spec.spec,
    method: last.method,
    budget: spec.settings.budget ?? null,
    figures,
    ratios: {},
    kernelShareOfPrefill:
      figures.methodMs && figures.llmPrefillMs ? figures.methodMs.median / figures.llmPrefillMs.median : 0,
    layerMs: Array.from({ length: layers }, (_, l) => median(outcomes.map((o) => o.trace.timings.layerMs[l]))),
    layout: last.layout,
    visualPerLayer: last.visualPerLayer,
    stages: last.stages.map((s) => ({ layer: s.layer, visualIn: s.visualIn, visualOut: s.visualOut })),
    decodeSteps: outcomes.map((o) => o.trace.timings.decodeStepMs.length),
    generatedIds: last.generatedIds,
  };
}

/** Fill every method's ratios against the `none` row of the same run. */
export function withRatios(rows: MethodResult[]): MethodResult[] {
  const none = rows.find((r) => r.spec === 'none');
  if (!none) throw new Error('withRatios: no `none` row to compare with');
  return rows.map((r) => {
    const ratios: Partial<Record<FigureName, number | null>> = {};
    for (const name of Object.keys(r.figures) as FigureName[]) {
      const ref = none.figures[name];
      if (ref) ratios[name] = ratio(r.figures[name]!, ref);
    }
    return { ...r, ratios };
  });
}

export interface MeasureOptions {
  runs: number;
  warmup: number;
  newTokens: number;
  /** performance.now() after which no new round starts (at least one round always runs). */
  deadlineMs?: number;
  onProgress?: (line: string) => void;
  /** After every measured round, the figures so far (the GPU run writes them, so a timeout keeps them). */
  onRound?: (m: Measured) => Promise<void>;
}

/** A method the engine refused or failed on: reported with its error, never silently dropped. */
export interface MethodFailure {
  spec: string;
  error: string;
}

export interface Measured {
  rows: MethodResult[];
  failures: MethodFailure[];
}

export async function measureMethods(target: BenchTarget, methods: MethodSpec[], o: MeasureOptions): Promise<Measured> {
  const log = o.onProgress ?? (() => {});
  const failures: MethodFailure[] = [];
  const fail = (spec: MethodSpec, e: unknown) => {
    const error = e instanceof Error ? e.message : String(e);
    failures.push({ spec: spec.spec, error });
    log(`${spec.spec} failed, dropped from this run: ${error}`);
  };
  let live = [...methods];
  for (const spec of methods) {
    try {
      for (let w = 0; w < o.warmup; w++) {
        await target.generate(spec, o.newTokens);
        log(`warm-up ${spec.spec} ${w + 1}/${o.warmup}`);
      }
    } catch (e) {
      if (spec.spec === 'none') throw e; // every ratio needs it
      fail(spec, e);
      live = live.filter((m) => m !== spec);
    }
  }
  const outcomes = new Map<string, RunOutcome[]>(methods.map((m) => [m.spec, []]));
  const soFar = (): Measured => ({
    rows: withRatios(
      methods.filter((m) => outcomes.get(m.spec)!.length > 0).map((m) => summarise(m, outcomes.get(m.spec)!)),
    ),
    failures: [...failures],
  });
  for (let r = 0; r < o.runs; r++) {
    if (r > 0 && o.deadlineMs !== undefined && performance.now() > o.deadlineMs) {
      log(`deadline reached: ${r} of ${o.runs} rounds measured`);
      break;
    }
    for (const spec of [...live]) {
      try {
        const out = await target.generate(spec, o.newTokens);
        outcomes.get(spec.spec)!.push(out);
        const t = out.trace.timings;
        log(
          `run ${r + 1}/${o.runs} ${spec.spec}: ttft ${t.firstTokenMs.toFixed(1)} ms, prefill ${t.prefillMs.toFixed(1)} ms, ${t.decodeStepMs.length} decode steps`,
        );
      } catch (e) {
        if (spec.spec === 'none') throw e;
        fail(spec, e);
        live = live.filter((m) => m !== spec);
      }
    }
    if (o.onRound) await o.onRound(soFar());
  }
  return soFar();
}
