/**
 * Evaluate-panel actions (issue 16): read a picked benchmark folder with the chosen format, run
 * the shared evaluation loop (src/eval/runner.ts) on the app's engine worker, append each record
 * to IndexedDB as it finishes, and build the same results/speed documents as the CLI. A run on
 * the same folder, model and options as an unfinished saved one continues it.
 */
import { FORMATS } from '../eval/formats';
import { filesDataSource, type PickedFile } from '../eval/filesSource';
import { parseMethodList, type MethodSpec } from '../eval/methods';
import { runEvaluation, type EvalEngine } from '../eval/runner';
import type { DataSource } from '../eval/source';
import { buildResults, buildSpeed, type RunHeader } from '../eval/summary';
import type { EvalItem, ItemRecord } from '../eval/types';
import type { FromWorker } from '../engine/protocol';
import { newRequestId, send, sendDirect } from './engine';
import type { EvalOptions, EvalSlice } from './evalSlice';
import { EvalDb, resumeKey, type StoredEval } from './persist/evalDb';
import { newRunId } from './persist/runsDb';
import { getState, setState } from './store';

type Evaluation = EvalSlice['evaluation'];

let picked: { folder: string; files: PickedFile[] } | null = null;
let source: DataSource | null = null;
let items: EvalItem[] = [];
let controller: AbortController | null = null;
let db: Promise<EvalDb> | null = null;

function open(): Promise<EvalDb> | null {
  if (typeof indexedDB === 'undefined') return null;
  db ??= EvalDb.open().catch((e) => {
    db = null;
    throw e;
  });
  return db;
}

function update(patch: Partial<Evaluation> | ((e: Evaluation) => Partial<Evaluation>)): void {
  setState((s) => ({
    evaluation: { ...s.evaluation, ...(typeof patch === 'function' ? patch(s.evaluation) : patch) },
  }));
}

export function setEvalOptions(patch: Partial<EvalOptions>): void {
  update((e) => ({ options: { ...e.options, ...patch } }));
  if (patch.format && picked) void readItems();
}

/** A folder the person picked (webkitdirectory input or directory handle, flattened). */
export async function pickEvalFolder(folder: { folder: string; files: PickedFile[] }): Promise<void> {
  if (folder.files.length === 0) {
    update({ error: 'That folder is empty.', status: 'error' });
    return;
  }
  picked = folder;
  await readItems();
}

async function readItems(): Promise<void> {
  if (!picked) return;
  const format = FORMATS[getState().evaluation.options.format];
  update({
    status: 'reading',
    folder: picked.folder,
    error: null,
    itemCount: 0,
    results: null,
    speed: null,
    progress: null,
    currentId: null,
  });
  source = filesDataSource(picked.folder, picked.files);
  try {
    items = await format.load(source);
    if (items.length === 0) throw new Error(`no ${format.name} items found`);
    update({ status: 'ready', itemCount: items.length });
  } catch (e) {
    items = [];
    update({
      status: 'error',
      error: `“${picked.folder}” is not a ${format.name} folder: ${(e as Error).message}. Expected ${format.description}.`,
    });
  }
}

/** The engine worker as the loop's engine; the app's own runs and errors are not touched. */
const workerEngine: EvalEngine = {
  generate: ({ image, prompt, settings, maxNewTokens, signal }) =>
    new Promise((resolve, reject) => {
      const id = newRequestId();
      const bytes = image.bytes.slice().buffer;
      const onAbort = () => send({ type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      sendDirect(
        {
          type: 'generate',
          id,
          image: { bytes, mime: mimeOf(image.name), name: image.name },
          question: prompt,
          settings,
          options: { maxNewTokens, temperature: 0, topP: 1, seed: 0 },
        },
        (m: FromWorker) => {
          if (m.type === 'done') {
            signal?.removeEventListener('abort', onAbort);
            resolve({ text: m.text, trace: m.trace });
          }
          if (m.type === 'error') {
            signal?.removeEventListener('abort', onAbort);
            reject(Object.assign(new Error(m.message), { where: m.where, code: m.code }));
          }
        },
      );
    }),
};

function mimeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return (
    (
      {
        png: 'image/png',
        jpg: 'image/jpeg',
        jpeg: 'image/jpeg',
        webp: 'image/webp',
        gif: 'image/gif',
        bmp: 'image/bmp',
      } as Record<string, string>
    )[ext] ?? 'application/octet-stream'
  );
}

function machine(): string {
  const a = getState().adapter;
  if (!a) return 'browser';
  return `browser, ${a.backend}${a.backend === 'webgpu' ? ` (${[a.vendor, a.architecture].filter(Boolean).join(' ')}${a.software ? ', software' : ''})` : ''}`;
}

/** Why the evaluation cannot start, in a sentence; null when it can. */
function startProblem(methods: MethodSpec[] | Error): string | null {
  const s = getState();
  if (s.status !== 'ready' || !s.info) return 'Load a model first: the evaluation asks the model that is loaded.';
  if (!source || items.length === 0) return 'Pick a benchmark folder first.';
  if (methods instanceof Error) return methods.message.replace(/^--methods: /, 'Methods: ');
  return null;
}

export async function startEvaluation(): Promise<void> {
  const s = getState();
  const { options } = s.evaluation;
  if (s.evaluation.status === 'running' || s.evaluation.status === 'stopping') return;
  let methods: MethodSpec[] | Error;
  try {
    methods = parseMethodList(options.methods);
  } catch (e) {
    methods = e as Error;
  }
  const problem = startProblem(methods);
  if (problem || methods instanceof Error) {
    update({ error: problem });
    return;
  }
  const format = FORMATS[options.format];
  const chosen = options.limit ? items.slice(0, options.limit) : items;
  const suffix = options.suffix ?? format.defaultSuffix;
  const header: RunHeader = {
    format: format.name,
    data: picked!.folder,
    model: `${s.info!.name} (${s.info!.dtype})`,
    suffix,
    maxNewTokens: options.maxNewTokens,
    items: chosen.length,
  };

  // Continue an unfinished evaluation of the same folder, model and options, else start one.
  const d = (await open()?.catch(() => null)) ?? null;
  const previous = d
    ? (await d.listEvals()).find((e) => e.status !== 'done' && resumeKey(e.header) === resumeKey(header))
    : undefined;
  const existing: ItemRecord[] = previous && d ? await d.records(previous.id) : [];
  const now = Date.now();
  const stored: StoredEval = previous
    ? {
        ...previous,
        methods: [...new Set([...previous.methods, ...methods.map((m) => m.spec)])],
        status: 'running',
        updatedAt: now,
      }
    : {
        id: newRunId(now),
        createdAt: now,
        updatedAt: now,
        header,
        methods: methods.map((m) => m.spec),
        status: 'running',
        recordCount: 0,
        results: null,
        speed: null,
      };
  const allMethods = parseMethodList(stored.methods.join(','));
  const records = [...existing];
  const refresh = () =>
    update({
      results: buildResults(header, format, chosen, allMethods, records),
      speed: buildSpeed(machine(), allMethods, records),
    });
  controller = new AbortController();
  update({ status: 'running', error: null, currentId: stored.id, progress: null });
  refresh();
  await d?.putEval(stored).catch(() => {});
  await refreshSavedEvals();
  let lastRefresh = 0;
  let outcome: 'done' | 'stopped' | 'error' = 'error';
  try {
    outcome = await runEvaluation({
      format,
      items: chosen,
      methods: allMethods,
      source: source!,
      engine: workerEngine,
      existing,
      suffix,
      maxNewTokens: options.maxNewTokens,
      signal: controller.signal,
      sink: async (r) => {
        records.push(r);
        await d?.appendRecord(stored.id, r);
        // The chart and table follow the run, at most twice a second.
        if (performance.now() - lastRefresh > 500) {
          lastRefresh = performance.now();
          refresh();
        }
      },
      onProgress: (p) => update({ progress: p }),
    });
  } catch (e) {
    update({
      error: `The evaluation stopped: ${(e as Error).message} Every answer so far is kept; start again to continue.`,
    });
  }
  controller = null;
  const results = buildResults(header, format, chosen, allMethods, records);
  const speed = buildSpeed(machine(), allMethods, records);
  update({ status: outcome, results, speed });
  await d
    ?.putEval({ ...stored, status: outcome, recordCount: records.length, results, speed, updatedAt: Date.now() })
    .catch(() => {});
  await refreshSavedEvals();
}

export function stopEvaluation(): void {
  if (!controller) return;
  controller.abort();
  update({ status: 'stopping' });
}

export async function refreshSavedEvals(): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    setState({ evalSaved: await (await d).listEvals() });
  } catch {
    /* no history in this browser */
  }
}

/** Show a saved evaluation's results in the panel. */
export async function openSavedEval(id: string): Promise<void> {
  const e = getState().evalSaved.find((x) => x.id === id);
  if (!e) return;
  update({
    currentId: id,
    results: e.results,
    speed: e.speed,
    status: e.status === 'running' ? 'stopped' : e.status,
    error: null,
    progress: null,
  });
}

export async function deleteSavedEval(id: string): Promise<void> {
  const d = open();
  if (!d) return;
  await (await d).deleteEval(id);
  if (getState().evaluation.currentId === id) update({ currentId: null, results: null, speed: null });
  await refreshSavedEvals();
}
