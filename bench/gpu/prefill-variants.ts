/**
 * One prefill tuning variant (engine/ortEnv.ts `PrefillTuning`, set through its SVLM_*
 * environment switches) measured on an existing package: load, then for each method 1 warm-up
 * and N measured requests of a few tokens; prints one JSON line with the figures the bench
 * reports (measure.ts `runFigures`) and what the variant computed (tokens, first-step top
 * logits, SparseVLM's kept counts), so variants can be compared for speed and for numerics.
 *
 * One process per variant: the WebGPU EP's validation and buffer-cache modes and
 * maxNumPendingDispatches belong to onnxruntime's one WebGPU context, made by the first session of
 * a process (engine/webgpuConfig.ts). `webgpuConfigAppends` in the line counts the WebGPU sessions
 * that got maxNumPendingDispatches (0 when the variant does not set it); with SVLM_COUNT_CALLS=1
 * the table's submits per request show whether it took effect.
 * bench/gpu/variants.sh runs the variants side by side and bench/gpu/variants-summary.ts
 * writes the table.
 *
 *   node prefill-variants.mjs --model <dir> --image <png> --variant <name> [--methods none,sparsevlm:64] [--runs 3] [--tokens 4]
 *   node prefill-variants.mjs --summarize <variants.jsonl>   (markdown table of the lines, first = baseline)
 */
import { readFileSync } from 'node:fs';
import { parseMethodSpec } from '../args';
import { runFigures } from '../measure';
import { CapturedVision } from '../../src/engine/visionCapture';
import { prefillRunCounts } from '../../src/engine/prefill';
import { webgpuConfigStats } from '../../src/engine/webgpuConfig';
import { BENCH_QUESTION, openNodeTarget, readBenchImage } from '../nodeTarget';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Dawn calls by name (count, ms of CPU inside the call), counted while `counting` (the measured runs). */
const calls: Record<string, { n: number; ms: number; bytes: number }> = {};
let counting = false;

/**
 * Wrap the synchronous Dawn calls a layer run makes (onnxruntime's and ours): a createBuffer
 * inside a run is a miss of onnxruntime's buffer cache (or a staging buffer).
 */
function countDawnCalls(): void {
  const methods: Record<string, string[]> = {
    GPUDevice: ['createBuffer', 'createBindGroup', 'createCommandEncoder'],
    GPUQueue: ['writeBuffer', 'submit'],
    GPUBuffer: ['destroy', 'mapAsync'],
    GPUComputePassEncoder: ['dispatchWorkgroups'],
  };
  const scope = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  for (const [cls, names] of Object.entries(methods)) {
    const proto = scope[cls]?.prototype;
    if (!proto) continue;
    for (const name of names) {
      const original = proto[name] as ((...a: unknown[]) => unknown) | undefined;
      if (!original) continue;
      const key = `${cls.replace('GPU', '')}.${name}`;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        if (!counting) return original.apply(this, args);
        const t = performance.now();
        const r = original.apply(this, args);
        const c = (calls[key] ??= { n: 0, ms: 0, bytes: 0 });
        c.n += 1;
        c.ms += performance.now() - t;
        if (name === 'createBuffer') c.bytes += (args[0] as { size: number }).size;
        return r;
      };
    }
  }
}

function topK(logits: Float32Array, k: number): [number, number][] {
  const idx = Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
  return idx.map((i) => [i, logits[i]]);
}

interface VariantLine {
  variant: string;
  env: Record<string, string>;
  visionCaptured: boolean;
  visionCaptureUnavailable: string | null;
  /** Layers whose prefill attention ran fused (engine/prefillAttention.ts); absent in older lines. */
  fusedAttentionLayers?: number;
  fusedAttentionUnavailable?: string | null;
  methods: Record<
    string,
    {
      tokens: number[];
      top5: [number, number][];
      kept: number[][];
      medians: Record<string, number>;
      cpuPerRunMs?: { full: number; pruned: number };
      dawnCallsPerRequest?: Record<string, { n: number }>;
    }
  >;
}

/** The variants as a markdown table: medians, ratios to the first line, and whether each computed the same. */
function summarize(path: string): string {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as VariantLine);
  const base = lines[0];
  const rows = [
    '| variant | switches | vision ms | none: LLM prefill ms | none: TTFT ms | sparsevlm:64: LLM prefill ms | sparsevlm:64: TTFT ms | sv64 / none prefill | sv64 / none TTFT | kernels % of sv64 prefill | CPU per layer run ms (none full / sv64 pruned) | submits per request (none / sv64) | same tokens / kept as baseline | first-step top-1 logit (Δ vs baseline) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const v of lines) {
    const n = v.methods.none;
    const p = v.methods['sparsevlm:64'];
    const bn = base.methods.none;
    const bp = base.methods['sparsevlm:64'];
    const same = (a?: { tokens: number[]; kept: number[][] }, b?: { tokens: number[]; kept: number[][] }) =>
      a && b
        ? `${JSON.stringify(a.tokens) === JSON.stringify(b.tokens) ? 'tokens ✓' : 'tokens ✗'}${a.kept.length ? (JSON.stringify(a.kept) === JSON.stringify(b.kept) ? ', kept ✓' : ', kept ✗') : ''}`
        : '–';
    const f = (x: number | undefined, d = 1) => (x === undefined ? '–' : x.toFixed(d));
    // Queue.submit per request: only counted with SVLM_COUNT_CALLS=1.
    const submits = (m?: VariantLine['methods'][string]) => {
      const c = m?.dawnCallsPerRequest?.['Queue.submit'];
      return c ? c.n.toFixed(0) : '–';
    };
    const switches = Object.entries(v.env)
      .map(([k, val]) => `${k.replace('SVLM_', '')}=${val}`)
      .join(' ');
    rows.push(
      `| ${v.variant} | ${switches || '(defaults)'}${v.visionCaptureUnavailable ? ` (vision capture unavailable: ${v.visionCaptureUnavailable})` : ''}${v.fusedAttentionLayers !== undefined ? ` [fused attention: ${v.fusedAttentionLayers} layers${v.fusedAttentionUnavailable ? `; ${v.fusedAttentionUnavailable}` : ''}]` : ''} | ${f(n?.medians.visionMs)} | ${f(n?.medians.llmPrefillMs)} | ${f(n?.medians.ttftMs)} | ${f(p?.medians.llmPrefillMs)} | ${f(p?.medians.ttftMs)} | ${n && p ? (p.medians.llmPrefillMs / n.medians.llmPrefillMs).toFixed(2) : '–'} | ${n && p ? (p.medians.ttftMs / n.medians.ttftMs).toFixed(2) : '–'} | ${p ? ((100 * p.medians.methodMs) / p.medians.llmPrefillMs).toFixed(1) : '–'} | ${f(n?.cpuPerRunMs?.full, 2)} / ${f(p?.cpuPerRunMs?.pruned, 2)} | ${submits(n)} / ${submits(p)} | none: ${same(n, bn)}; sv64: ${same(p, bp)} | ${n ? `${n.top5[0][0]}: ${n.top5[0][1].toFixed(4)} (${(n.top5[0][1] - bn.top5[0][1]).toExponential(1)})` : '–'} |`,
    );
  }
  return rows.join('\n') + '\n';
}

async function main(): Promise<void> {
  if (process.argv.includes('--summarize')) {
    process.stdout.write(summarize(flag('summarize')));
    return;
  }
  const variant = flag('variant');
  const methods = flag('methods', 'none,sparsevlm:64').split(',').map(parseMethodSpec);
  const runs = Number(flag('runs', '3'));
  const tokens = Number(flag('tokens', '4'));
  const image = await readBenchImage(flag('image'));
  const target = await openNodeTarget(flag('model'), [image]);
  const { engine } = target;
  if (process.env.SVLM_COUNT_CALLS === '1') countDawnCalls();
  const pkg = engine.model!;
  const out: Record<string, unknown> = {
    variant,
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SVLM_'))),
    tuning: engine.rt.tuning,
    visionCaptured: pkg.sessions.vision instanceof CapturedVision,
    visionCaptureUnavailable: pkg.visionCaptureUnavailable,
    fusedAttentionLayers: pkg.fusedAttentionLayers,
    fusedAttentionUnavailable: pkg.fusedAttentionUnavailable,
    loadMs: target.loadMs,
    methods: {} as Record<string, unknown>,
  };
  for (const spec of methods) {
    const figures: Record<string, number[]> = {};
    // Warm-up through the engine itself: its result carries the tokens and first-step logits.
    const res = await engine.generate({
      image,
      question: BENCH_QUESTION,
      settings: spec.settings,
      options: { maxNewTokens: tokens, temperature: 0, topP: 1, seed: 0, reuseVision: false },
    });
    const computed = {
      tokens: res.tokenIds,
      top5: topK(res.firstStepLogits, 5),
      // Kept visual rows per stage: count and index sum (equal sums: the same decisions, almost surely).
      kept: res.trace.stages.map((s) => [s.kept.length, s.kept.reduce((a, b) => a + b, 0)]),
    };
    // Measured runs as the bench makes them (same request, peak GPU bytes counted).
    const layerMs: number[][] = [];
    const cpu0 = structuredClone(prefillRunCounts);
    for (const k of Object.keys(calls)) delete calls[k];
    counting = true;
    for (let r = 0; r < runs; r++) {
      const o = await target.generate(spec, tokens);
      const f = runFigures(o);
      for (const [k, v] of Object.entries(f)) if (typeof v === 'number') (figures[k] ??= []).push(v);
      o.trace.timings.layerMs.forEach((ms, l) => (layerMs[l] ??= []).push(ms));
    }
    counting = false;
    const perRequest = Object.fromEntries(
      Object.entries(calls).map(([k, c]) => [k, { n: c.n / runs, ms: c.ms / runs, mib: c.bytes / runs / 2 ** 20 }]),
    );
    // CPU per layer session run (JS-thread wall of layer.run), full-length and pruned layers.
    const perRun = (k: 'full' | 'pruned') => {
      const runsK = prefillRunCounts[k].runs - cpu0[k].runs;
      return runsK ? (prefillRunCounts[k].ms - cpu0[k].ms) / runsK : 0;
    };
    (out.methods as Record<string, unknown>)[spec.spec] = {
      ...computed,
      medians: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)])),
      layerMs: layerMs.map(median),
      cpuPerRunMs: { full: perRun('full'), pruned: perRun('pruned') },
      dawnCallsPerRequest: perRequest,
      all: figures,
    };
    process.stderr.write(
      `[${variant}] ${spec.spec}: vision ${median(figures.visionMs).toFixed(1)} ms, LLM prefill ${median(figures.llmPrefillMs).toFixed(1)} ms, ttft ${median(figures.ttftMs).toFixed(1)} ms, CPU per layer run ${perRun('full').toFixed(2)} ms full / ${perRun('pruned').toFixed(2)} ms pruned; layers ms ${layerMs.map((xs) => median(xs).toFixed(1)).join(' ')}\n`,
    );
    if (Object.keys(perRequest).length)
      process.stderr.write(
        `[${variant}] ${spec.spec} Dawn calls per request: ${Object.entries(perRequest)
          .map(([k, c]) => `${k} ${c.n.toFixed(0)} (${c.ms.toFixed(1)} ms${c.mib ? `, ${c.mib.toFixed(1)} MiB` : ''})`)
          .join(', ')}\n`,
      );
  }
  // WebGPU sessions opened with maxNumPendingDispatches (engine/webgpuConfig.ts); 0 when unset.
  out.webgpuConfigAppends = webgpuConfigStats.appends;
  await target.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`prefill-variants: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
