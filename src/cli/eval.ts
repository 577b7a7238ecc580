/**
 * npm run eval -- --model <package dir | hub id> --data <folder or file> --format pope|gqa|mme|vqa|mcq
 *   [--methods none,sparsevlm:192,sparsevlm:64,fastv:64,…] [--limit N] [--out <dir>]
 *   [--images <dir>] [--suffix "<text>" | --no-suffix] [--max-new-tokens N] [--backend webgpu|wasm] [--dtype q4]
 *
 * Asks every item of a benchmark (its own published files, src/eval/formats/) under each method,
 * scores it with the benchmark's metric and writes into --out:
 *   records.jsonl  one line per item and method as it finishes (the resume log)
 *   results.json   scores, retention vs none, FLOPs / visual tokens, per-item records (identical
 *                  for a killed-and-resumed run and an uninterrupted one: no timings in it)
 *   speed.json     prefill, time to first token, tokens/s of the same requests (medians)
 *   results.md     one table;  results.svg  score against prefill time and against FLOPs
 * Run the same command again to resume: only the missing items are asked. Ctrl-C cancels the
 * request in flight (it is asked again on resume) and writes the files for what is done.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chartSvg } from '../eval/chart';
import { formatByName } from '../eval/formats';
import { markdownTable } from '../eval/markdown';
import { DEFAULT_EVAL_METHODS, parseMethodList } from '../eval/methods';
import { nodeDataSource } from '../eval/nodeSource';
import { parseRecordLog, serialiseRecord } from '../eval/records';
import { runEvaluation, type EvalEngine } from '../eval/runner';
import { buildResults, buildSpeed, resultsText, type RunHeader } from '../eval/summary';
import type { ItemRecord } from '../eval/types';
import { ProgressBar, exitWithError } from './progressBar';
import { preferQuickWasmCompile, releaseNodeGpu, setupNodeGpu } from './shared/nodeGpu';

const USAGE =
  'usage: npm run eval -- --model <package dir | hub id> --data <folder or file> --format pope|gqa|mme|vqa|mcq ' +
  `[--methods ${DEFAULT_EVAL_METHODS}] [--limit N] [--out <dir>] [--images <dir>] [--suffix "<text>" | --no-suffix] ` +
  '[--max-new-tokens 128] [--backend webgpu|wasm] [--dtype q4]';

class EvalArgError extends Error {}

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new EvalArgError(`${flag}: "${value}" is not a whole number ≥ 1`);
  return n;
}

/** A package folder as is; a hub id is downloaded and converted once into .cache/eval/packages/. */
async function packageDir(model: string, dtype: string): Promise<string> {
  if (existsSync(join(model, 'manifest.json'))) return model;
  const { isHubId } = await import('../convert/checkpoint/hub');
  if (!isHubId(model))
    throw new EvalArgError(
      `--model: ${model} is neither a package folder (with manifest.json) nor a hub id ("org/name")`,
    );
  const out = join('.cache', 'eval', 'packages', `${model.replace('/', '--')}-${dtype}`);
  if (existsSync(join(out, 'manifest.json'))) return out;
  const { downloadHubCheckpoint } = await import('../convert/checkpoint/nodeHub');
  const { openCheckpointDir } = await import('../convert/checkpoint/nodeCheckpoint');
  const { convertCheckpoint } = await import('../convert/convert');
  const { DirSink } = await import('../package/nodeSink');
  const cache = join('.cache', 'hub', model.replace('/', '--'));
  const down = new ProgressBar(`download ${model}`);
  await downloadHubCheckpoint(model, cache, {
    token: process.env.HF_TOKEN,
    onProgress: (p) => down.update(p.bytesDone, p.bytesTotal, p.file),
  });
  down.done(`downloaded ${model} into ${cache}`);
  const ckpt = await openCheckpointDir(cache, model);
  const bar = new ProgressBar(`convert ${dtype}`);
  try {
    await convertCheckpoint(ckpt, {
      dtype: dtype as 'q4',
      sink: new DirSink(out),
      onProgress: (p) => bar.update(p.graphsDone, p.graphsTotal, p.path, 'count'),
    });
  } finally {
    await ckpt.close?.();
  }
  bar.done(`converted ${model} into ${out}`);
  return out;
}

/** The settings a record log was made with: a resume with other settings would mix two runs. */
function checkRunFile(path: string, header: RunHeader): void {
  const comparable = (h: RunHeader) =>
    JSON.stringify({ format: h.format, data: h.data, model: h.model, suffix: h.suffix, maxNewTokens: h.maxNewTokens });
  if (existsSync(path)) {
    const before = JSON.parse(readFileSync(path, 'utf8')) as RunHeader;
    if (comparable(before) !== comparable(header)) {
      throw new EvalArgError(
        `${path} records a run with other settings (${comparable(before)}); this one is ${comparable(header)}. Use another --out, or delete that folder to start over.`,
      );
    }
  }
  writeFileSync(path, `${JSON.stringify(header, null, 2)}\n`);
}

/** Records already in the log; a last line cut off by a kill is cut from the file. */
function readLog(path: string): ItemRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const { records, validLength } = parseRecordLog(text);
  if (validLength < Buffer.byteLength(text)) truncateSync(path, Buffer.byteLength(text.slice(0, validLength)));
  return records;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      format: { type: 'string' },
      methods: { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      images: { type: 'string' },
      suffix: { type: 'string' },
      'no-suffix': { type: 'boolean' },
      'max-new-tokens': { type: 'string' },
      backend: { type: 'string', default: 'webgpu' },
      dtype: { type: 'string', default: 'q4' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.model || !values.data || !values.format) throw new EvalArgError(USAGE);
  const format = formatByName(values.format);
  const methods = parseMethodList(values.methods ?? DEFAULT_EVAL_METHODS);
  const limit = values.limit === undefined ? Infinity : positiveInt('--limit', values.limit, 1);
  const maxNewTokens = positiveInt('--max-new-tokens', values['max-new-tokens'], 128);
  const suffix = values['no-suffix'] ? '' : (values.suffix ?? format.defaultSuffix);
  const backend = values.backend;
  if (backend !== 'webgpu' && backend !== 'wasm')
    throw new EvalArgError(`--backend must be webgpu or wasm, not "${backend}"`);

  const { source, file } = nodeDataSource(values.data, values.images);
  const allItems = await format.load(source, file);
  if (allItems.length === 0) throw new EvalArgError(`${values.data}: no ${format.name} items found`);
  const items = allItems.slice(0, limit);
  const out = values.out ?? join('.cache', 'eval', `${format.name}-${basename(resolve(values.data))}`);
  mkdirSync(out, { recursive: true });

  const dir = await packageDir(values.model, values.dtype);
  preferQuickWasmCompile();
  let noGpuReason: string | undefined;
  if (backend === 'webgpu') {
    const gpu = await setupNodeGpu();
    if (!gpu.adapter) {
      noGpuReason = gpu.reason;
      process.stderr.write(`No WebGPU adapter: ${gpu.reason}. Falling back to the wasm backend.\n`);
    }
  }
  const { Engine } = await import('../engine/engine');
  const { dirReader } = await import('../package/nodeSource');
  const engine = await Engine.create({ preferBackend: backend, noGpuReason });
  const loadBar = new ProgressBar('load');
  const info = await engine.load(dirReader(dir), (p) =>
    loadBar.update(p.filesDone, p.filesTotal, `${p.phase} ${p.file ?? ''}`, 'count'),
  );
  const a = engine.adapter;
  const machine = `${a.backend}${a.backend === 'webgpu' ? ` (${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')})` : ''}`;
  loadBar.done(`loaded ${info.name} (${info.numLayers} layers, ${info.dtype}) on ${machine}`);

  const header: RunHeader = {
    format: format.name,
    data: resolve(values.data),
    model: `${info.name} (${info.dtype})`,
    suffix,
    maxNewTokens,
    items: items.length,
  };
  checkRunFile(join(out, 'run.json'), header);
  const logPath = join(out, 'records.jsonl');
  const existing = readLog(logPath);
  const records = [...existing];
  const bar = new ProgressBar(`eval ${format.name}`);
  const evalEngine: EvalEngine = {
    generate: (r) =>
      engine.generate({
        image: r.image,
        question: r.prompt,
        settings: r.settings,
        options: { maxNewTokens: r.maxNewTokens, temperature: 0, topP: 1, seed: 0 },
        signal: r.signal,
      }),
  };
  const stop = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nstopping: the request in flight is cancelled, every finished answer is kept…\n');
    stop.abort();
  });
  const outcome = await runEvaluation({
    format,
    items,
    methods,
    source,
    engine: evalEngine,
    existing,
    suffix,
    maxNewTokens,
    signal: stop.signal,
    sink: async (record) => {
      appendFileSync(logPath, serialiseRecord(record));
      records.push(record);
    },
    onProgress: (p) =>
      bar.update(
        p.done,
        p.total,
        `${p.method} ${p.itemId}${p.etaS === null ? '' : ` · ETA ${formatEta(p.etaS)}`}${p.resumed ? ` · ${p.resumed} resumed` : ''}`,
        'count',
      ),
  });

  const results = buildResults(header, format, items, methods, records);
  const speed = buildSpeed(machine, methods, records);
  writeFileSync(join(out, 'results.json'), resultsText(results));
  writeFileSync(join(out, 'speed.json'), resultsText(speed));
  writeFileSync(join(out, 'results.md'), markdownTable(results, speed));
  writeFileSync(
    join(out, 'results.svg'),
    chartSvg(results, speed, `${format.name} · ${header.model} · ${items.length} items`),
  );
  bar.done(
    outcome === 'done'
      ? `done: ${out}/results.{json,md,svg}, speed.json`
      : `stopped: ${records.length} of ${items.length * methods.length} done; run the same command again to resume (${out})`,
  );
  process.stdout.write(markdownTable(results, speed));
  await engine.dispose();
  releaseNodeGpu();
}

function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

main().then(() => process.exit(0), exitWithError);
