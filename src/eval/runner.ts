/**
 * The evaluation loop, shared by the CLI and the app: every item under every method (item by
 * item, all methods of an item together, so a stopped run still compares methods on the same
 * items), skipping what the record log already holds. Each outcome is handed to the sink as
 * soon as it exists. An item that cannot be asked (malformed line, missing or unreadable image,
 * an image the engine refuses) is recorded as skipped with its reason; an engine failure that
 * is not about the item (GPU lost, no model) stops the run, keeping every record so far.
 */
import type { MethodSettings } from '../engine/protocol';
import type { RequestTrace } from '../common/trace';
import type { MethodSpec } from './methods';
import { recordKey } from './records';
import { ImageIndex, type DataSource } from './source';
import type { EvalFormat, EvalItem, ItemRecord, ItemSpeed } from './types';

/** What the loop needs of an engine: the Node Engine and the app's worker link both fit. */
export interface EvalEngine {
  generate(request: {
    image: { bytes: Uint8Array; name: string };
    prompt: string;
    settings: MethodSettings;
    maxNewTokens: number;
    signal?: AbortSignal;
  }): Promise<{ text: string; trace: RequestTrace }>;
}

export interface EvalProgress {
  done: number;
  total: number;
  /** Done before this run started (resumed from the log). */
  resumed: number;
  method: string;
  itemId: string;
  /** Seconds left at this run's pace so far; null until one item was asked. */
  etaS: number | null;
}

export interface EvalRunOptions {
  format: EvalFormat;
  items: EvalItem[];
  methods: MethodSpec[];
  source: DataSource;
  engine: EvalEngine;
  /** Appended per item; resolves once the record is stored. */
  sink: (record: ItemRecord) => Promise<void>;
  /** Records already stored (resume): their keys are not asked again. */
  existing: ItemRecord[];
  /** The prompt suffix (format default unless overridden; '' for none). */
  suffix: string;
  maxNewTokens: number;
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  /** True when an engine error is about the item (skip it), false when it ends the run. */
  isItemError?: (error: unknown) => boolean;
  now?: () => number;
}

/** Engine errors whose `where` is 'input' are the item's fault (EngineError and EngineClientError both carry it). */
export const engineItemError = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { where?: string }).where === 'input';

export function promptFor(format: EvalFormat, item: EvalItem, suffix: string): string {
  if (format.prompt) return format.prompt(item, suffix);
  return suffix ? `${item.question}\n${suffix}` : item.question;
}

export function itemSpeed(trace: RequestTrace): ItemSpeed {
  const t = trace.timings;
  const decodeMs = t.decodeStepMs.reduce((s, v) => s + v, 0);
  const visual = trace.visualPerLayer;
  const lastStage = trace.stages.length
    ? trace.stages[trace.stages.length - 1].visualOut
    : (visual[visual.length - 1] ?? 0);
  return {
    prefillMs: t.prefillMs,
    firstTokenMs: t.firstTokenMs,
    tokensPerS: t.decodeStepMs.length > 0 && decodeMs > 0 ? (t.decodeStepMs.length * 1000) / decodeMs : null,
    flops: trace.cost.flops,
    flopsUnpruned: trace.cost.flopsUnpruned,
    visualTokensLast: lastStage,
    equalTokens: trace.equalTokens,
  };
}

/** Runs what is missing; resolves with 'done' or 'stopped' (signal aborted). */
export async function runEvaluation(options: EvalRunOptions): Promise<'done' | 'stopped'> {
  const now = options.now ?? (() => performance.now());
  const isItemError = options.isItemError ?? engineItemError;
  const have = new Set(options.existing.map((r) => recordKey(r.method, r.id)));
  const total = options.items.length * options.methods.length;
  const resumed = options.items.reduce(
    (s, it) => s + options.methods.filter((m) => have.has(recordKey(m.spec, it.id))).length,
    0,
  );
  let done = resumed;
  let asked = 0;
  const t0 = now();
  const index = new ImageIndex(options.source.files);
  const progress = (method: string, itemId: string) =>
    options.onProgress?.({
      done,
      total,
      resumed,
      method,
      itemId,
      etaS: asked > 0 ? (((now() - t0) / asked) * (total - done)) / 1000 : null,
    });
  progress('', '');

  for (const item of options.items) {
    const todo = options.methods.filter((m) => !have.has(recordKey(m.spec, item.id)));
    if (todo.length === 0) continue;
    if (options.signal?.aborted) return 'stopped';
    const base = { id: item.id, label: item.label, ...(item.meta ? { meta: item.meta } : {}) };
    const skipAll = async (reason: string) => {
      for (const m of todo) {
        await options.sink({ method: m.spec, ...base, skipped: reason });
        done++;
        progress(m.spec, item.id);
      }
    };
    if (item.invalid) {
      await skipAll(item.invalid);
      continue;
    }
    let image: { bytes: Uint8Array; name: string };
    if (item.inlineImage) image = item.inlineImage;
    else {
      const path = item.image ? index.find(item.image) : null;
      if (!path) {
        await skipAll(`image ${item.image ?? '(none)'} not found in ${options.source.label}`);
        continue;
      }
      try {
        image = { bytes: await options.source.read(path), name: path.slice(path.lastIndexOf('/') + 1) };
      } catch (e) {
        await skipAll(`image ${path} could not be read: ${(e as Error).message}`);
        continue;
      }
    }
    const prompt = promptFor(options.format, item, options.suffix);
    for (const m of todo) {
      if (options.signal?.aborted) return 'stopped';
      let record: ItemRecord;
      try {
        const { text, trace } = await options.engine.generate({
          image,
          prompt,
          settings: m.settings,
          maxNewTokens: options.maxNewTokens,
          signal: options.signal,
        });
        const answer = text.trim();
        const prediction = options.format.parse(answer, item);
        record = {
          method: m.spec,
          ...base,
          answer,
          prediction,
          score: options.format.scoreItem(prediction, item, answer),
          speed: itemSpeed(trace),
        };
      } catch (e) {
        if (options.signal?.aborted) return 'stopped';
        if (!isItemError(e)) throw e;
        record = { method: m.spec, ...base, skipped: `the engine refused the item: ${(e as Error).message}` };
      }
      await options.sink(record);
      asked++;
      done++;
      progress(m.spec, item.id);
    }
  }
  return 'done';
}
