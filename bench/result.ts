/**
 * The bench's one output record (bench/results/<date>-<where>-<shape>.json) and its markdown
 * table. Plain JSON; the SVG is drawn from the same record (svg.ts).
 */
import type { AdapterInfo, ModelInfo } from '../src/engine/protocol';
import { FIGURES, type FigureName, type MethodFailure, type MethodResult } from './measure';
import type { Spread } from './stats';
import { equalTokens } from '../src/prune/schedule';

export interface NotMeasured {
  notMeasured: string;
}

export interface MergedComparison {
  /** Same weights, unpruned: one merged decoder graph vs the per-layer sessions. */
  perLayer: { prefillMs: Spread; decodeTokPerS: Spread };
  merged: { prefillMs: Spread; decodeTokPerS: Spread };
  /** perLayer / merged prefill time, merged / perLayer tokens/s: the cost of splitting (≤ 1.10 is the target). */
  prefillCost: number;
  decodeCost: number;
}

export interface BenchResult {
  schema: 1;
  date: string;
  where: 'browser' | 'node';
  shape: string;
  dtype: string;
  options: {
    runs: number;
    warmup: number;
    newTokens: number;
    question: string;
    /** The image's file name; for a video row, the video's. */
    image: string;
    /**
     * A video row (--frames): frames fed, frames in the source, and which (uniform sampling);
     * `tokensPerFrame` when the package feeds frames through a video tower (Video-LLaVA: 257 at
     * 224 px, CLS kept; manifest `video`), absent when each frame is fed as an image.
     */
    video?: { frames: number; sourceFrames: number; indices: number[]; tokensPerFrame?: number };
  };
  environment: {
    adapter: AdapterInfo;
    runtime: Record<string, string>;
    host: Record<string, string | number>;
    /** Free text from the machine (nvidia-smi line on the GPU machine), when given. */
    machine?: string;
  };
  model: ModelInfo & {
    loadMs: number;
    generatedMs: number;
    layout: { preLength: number; visualCount: number; textLength: number };
  };
  memoryNote: string;
  methods: MethodResult[];
  /** Methods that failed, with the engine's message. */
  failures: MethodFailure[];
  merged: MergedComparison | NotMeasured;
  peer: Record<string, unknown> | NotMeasured;
  native: Record<string, unknown> | NotMeasured;
}

const fmt = (name: FigureName, v: number): string => {
  if (name === 'flops') return `${(v / 1e9).toFixed(v >= 1e11 ? 0 : 2)} G`;
  if (name === 'kvBytes' || name === 'peakGpuBytes') return `${(v / 2 ** 20).toFixed(v >= 2 ** 30 ? 0 : 1)} MiB`;
  if (name === 'decodeTokPerS') return v.toFixed(v >= 100 ? 0 : 1);
  return v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2);
};

const cell = (name: FigureName, s: Spread | undefined, r: number | null | undefined): string => {
  if (!s) return '—';
  const constant = s.min === s.max;
  const range = constant ? '' : ` [${fmt(name, s.min)}–${fmt(name, s.max)}]`;
  // Kernel time against `none`'s (≈ 0: it has no stages) is no ratio; its share of the pruned
  // prefill is reported under the table instead.
  const ratio = r === undefined || r === null || name === 'methodMs' ? '' : ` (${r.toFixed(2)}×)`;
  return `${fmt(name, s.median)}${range}${ratio}`;
};

export const TABLE_FIGURES: FigureName[] = [
  'visionMs',
  'llmPrefillMs',
  'methodMs',
  'ttftMs',
  'decodeTokPerS',
  'peakGpuBytes',
  'kvBytes',
  'flops',
];

export function markdownTable(r: BenchResult): string {
  const head = ['method', ...TABLE_FIGURES.map((f) => FIGURES[f]), 'visual tokens per stage'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const m of r.methods) {
    const stages = [m.layout.visualCount, ...m.stages.map((s) => `${s.visualOut}@${s.layer}`)].join(' → ');
    lines.push(
      `| ${m.spec} | ${TABLE_FIGURES.map((f) => cell(f, m.figures[f], m.ratios[f])).join(' | ')} | ${stages} |`,
    );
  }
  return lines.join('\n');
}

function section(title: string, body: string): string {
  return `\n\n### ${title}\n\n${body}\n`;
}

/** How a video row's frames went in: through the package's video tower, or each as an image. */
function videoWords(v: NonNullable<BenchResult['options']['video']>, source: string): string {
  const which = `a video: ${v.frames} frames of ${source}'s ${v.sourceFrames}, indices ${v.indices.join(', ')}`;
  if (v.tokensPerFrame !== undefined)
    return `${which}, through the package's video tower: ${v.tokensPerFrame} tokens a frame (its CLS first), one block of ${v.frames} × ${v.tokensPerFrame} = ${v.frames * v.tokensPerFrame}`;
  return `${which}, each fed as an image; the visual count is the span from the first frame's first token to the last frame's last, separators included`;
}

export function markdownReport(r: BenchResult): string {
  const a = r.environment.adapter;
  const parts = [
    `## Bench ${r.date}: ${r.where}, ${r.shape} ${r.dtype}`,
    '',
    `Adapter: ${a.backend} ${a.vendor} ${a.architecture} (${a.description || 'no description'}), shader-f16 ${a.shaderF16 ? 'yes' : 'no'}. ` +
      `Runtime: ${Object.entries(r.environment.runtime)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.` +
      (r.environment.machine ? ` Machine: ${r.environment.machine}.` : ''),
    '',
    `Model: ${r.model.name} (${r.model.numLayers} layers, hidden ${r.model.hiddenSize}, ${(r.model.bytes / 2 ** 20).toFixed(1)} MiB), ` +
      `prompt ${r.model.layout.preLength} + ${r.model.layout.visualCount} visual + ${r.model.layout.textLength} text tokens` +
      (r.options.video ? ` (${videoWords(r.options.video, r.options.image)}). ` : '. ') +
      `${r.options.runs} runs after ${r.options.warmup} warm-up per method, round-robin; ${r.options.newTokens} tokens forced. ` +
      'Median [min–max] (ratio to none, same run).',
    '',
    markdownTable(r),
    '',
    `Equal tokens (the reference's budget figure: mean over layers of the visual tokens after each layer): ${r.methods
      .map((m) => `${m.spec} ${equalTokens(m.visualPerLayer).toFixed(1)}`)
      .join(', ')}.`,
    '',
    `Sparsification kernels as a share of the pruned LLM prefill: ${r.methods
      .filter((m) => m.spec !== 'none')
      .map((m) => `${m.spec} ${(m.kernelShareOfPrefill * 100).toFixed(1)} %`)
      .join(', ')}.`,
    '',
    `Peak GPU bytes: ${r.memoryNote}`,
    ...(r.failures.length
      ? [
          '',
          'Not measured (the engine failed on them in this run):',
          ...r.failures.map((f) => `- ${f.spec}: ${f.error}`),
        ]
      : []),
  ];
  const merged =
    'notMeasured' in r.merged
      ? `Not measured: ${r.merged.notMeasured}`
      : `Per-layer sessions vs one merged decoder (unpruned): prefill ${r.merged.perLayer.prefillMs.median.toFixed(1)} vs ${r.merged.merged.prefillMs.median.toFixed(1)} ms ` +
        `(cost ${r.merged.prefillCost.toFixed(2)}×), decode ${r.merged.perLayer.decodeTokPerS.median.toFixed(1)} vs ${r.merged.merged.decodeTokPerS.median.toFixed(1)} tokens/s (cost ${r.merged.decodeCost.toFixed(2)}×).`;
  const peer = 'notMeasured' in r.peer ? `Not measured: ${r.peer.notMeasured}` : peerText(r.peer);
  const native = 'notMeasured' in r.native ? `Not measured: ${r.native.notMeasured}` : nativeTable(r.native);
  return (
    parts.join('\n') +
    section('Split cost (merged decoder)', merged) +
    section('Peer (transformers.js LLaVA pipeline)', peer) +
    section('Native reference (PyTorch, same machine)', native)
  );
}

/** The browser peer (browser.ts PeerResult) as a table beside our unpruned row; other shapes as JSON. */
function peerText(p: Record<string, unknown>): string {
  const q = p as {
    pipeline?: string;
    device?: string;
    dtype?: string;
    runs?: number;
    promptTokens?: number;
    loadMs?: number;
    ttftMs?: Spread;
    decodeTokPerS?: Spread;
    speedup?: { ttft: number; decode: number };
    ours?: { ttftMs: number; decodeTokPerS: number; promptTokens: number };
  };
  if (!q.ttftMs || !q.decodeTokPerS || !q.ours || !q.speedup) return '```json\n' + JSON.stringify(p, null, 1) + '\n```';
  return [
    `${q.pipeline}, ${q.device}, ${q.dtype}, same weights unpruned in the converter's transformers.js layout; ${q.runs} run(s); loaded in ${((q.loadMs ?? 0) / 1000).toFixed(1)} s.`,
    '',
    '| | prompt tokens | time to first token (ms) | decode (tokens/s) |',
    '|---|---|---|---|',
    `| ours, none | ${q.ours.promptTokens} | ${q.ours.ttftMs.toFixed(0)} | ${q.ours.decodeTokPerS.toFixed(2)} |`,
    `| transformers.js | ${q.promptTokens} | ${q.ttftMs.median.toFixed(0)} [${q.ttftMs.min.toFixed(0)}–${q.ttftMs.max.toFixed(0)}] | ${q.decodeTokPerS.median.toFixed(2)} [${q.decodeTokPerS.min.toFixed(2)}–${q.decodeTokPerS.max.toFixed(2)}] |`,
    `| ours faster by | | ${q.speedup.ttft.toFixed(2)}× | ${q.speedup.decode.toFixed(2)}× |`,
  ].join('\n');
}

interface NativeMethod {
  prefillLayersMs: Spread;
  decodeTokPerS: Spread;
  ratios?: { prefillLayersMs: number; decodeTokPerS: number };
  peakBytes: number;
}

function nativeTable(n: Record<string, unknown>): string {
  const env = n.environment as Record<string, string> | undefined;
  const methods = (n.methods ?? {}) as Record<string, NativeMethod>;
  const vision = n.visionMs as Spread | undefined;
  const std = n.prefillStandardMs as Spread | undefined;
  const lines = [
    env
      ? `${env.gpu}, torch ${env.torch}, transformers ${env.transformers}, ${env.dtype}, ${env.attention}, ${env.mode}.`
      : '',
    vision && std
      ? `Vision ${vision.median.toFixed(2)} ms; LLM prefill through LlamaModel.forward ${std.median.toFixed(2)} ms.`
      : '',
    '',
    '| schedule | LLM prefill, manual layer loop (ms) | decode (tokens/s) | peak bytes |',
    '|---|---|---|---|',
    ...Object.entries(methods).map(
      ([spec, m]) =>
        `| ${spec} | ${m.prefillLayersMs.median.toFixed(2)} [${m.prefillLayersMs.min.toFixed(2)}–${m.prefillLayersMs.max.toFixed(2)}]${m.ratios ? ` (${m.ratios.prefillLayersMs.toFixed(2)}×)` : ''} ` +
        `| ${m.decodeTokPerS.median.toFixed(1)}${m.ratios ? ` (${m.ratios.decodeTokPerS.toFixed(2)}×)` : ''} | ${(m.peakBytes / 2 ** 30).toFixed(2)} GiB |`,
    ),
  ];
  return lines.join('\n');
}
