/**
 * History slice actions: every run that finishes with an answer is saved to IndexedDB
 * (persist/runsDb.ts: thumbnail, question, settings, answer, trace, metrics), listed after a
 * reload, reopened into the panels, exported as JSON and deleted. The database is opened
 * lazily, so Node tests and browsers without IndexedDB simply keep no history.
 */
import { RunsDb, makeThumbnail, newRunId, runMetrics, type StoredRun } from './persist/runsDb';
import { newRequestId, setRunDoneHandler, showError } from './engine';
import { getState, setState } from './store';
import type { Run } from './types';

let db: Promise<RunsDb> | null = null;

function open(): Promise<RunsDb> | null {
  if (typeof indexedDB === 'undefined') return null;
  db ??= RunsDb.open().catch((e) => { db = null; throw e; });
  return db;
}

function historyError(what: string, e: unknown): void {
  showError({ where: 'answer', code: 'history', message: `The run history could not ${what}: ${(e as Error).message}` });
}

export async function refreshHistory(): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    setState({ saved: await (await d).list() });
  } catch (e) { historyError('be read', e); }
}

/** The image version a run was asked about (first field of its key, see runs.ts runKey). */
const imageVersionOf = (run: Run) => Number(run.key.split('|')[0]);

export async function saveRun(run: Run): Promise<void> {
  const d = open();
  if (!d || run.savedId) return;
  const s = getState();
  const image = s.image && s.image.version === imageVersionOf(run) ? s.image : null;
  const id = newRunId();
  // Mark first: a second 'done' for the same run must not save it twice.
  setState((st) => ({ runs: st.runs.map((r) => (r.id === run.id ? { ...r, savedId: id } : r)) }));
  try {
    const stored: StoredRun = {
      id, createdAt: Date.now(), model: s.info?.name ?? null, imageName: run.imageName,
      thumbnail: image ? await makeThumbnail(new Blob([image.bytes], { type: image.mime })) : null,
      question: run.question, settings: run.settings, label: run.label, answer: run.text, trace: run.trace,
      metrics: runMetrics(run.tokenCount, run.firstTokenMs, run.lastTokenMs, run.totalMs),
    };
    await (await d).put(stored);
    await refreshHistory();
  } catch (e) { historyError('save the run', e); }
}
setRunDoneHandler((run) => { void saveRun(run); });

/** Reopen a saved run in the answer, explorer, raters and cost panels. */
export async function showSaved(id: string): Promise<void> {
  const inMemory = getState().runs.find((r) => r.savedId === id);
  if (inMemory) { setState({ currentRunId: inMemory.id, layer: 0 }); return; }
  const d = open();
  if (!d) return;
  try {
    const stored = await (await d).get(id);
    if (!stored) { await refreshHistory(); return; }
    const run: Run = {
      id: newRequestId(), key: `saved|${stored.id}`, settings: stored.settings, label: stored.label,
      imageName: stored.imageName, question: stored.question, status: 'done', text: stored.answer,
      tokenCount: stored.metrics.tokenCount, firstTokenMs: stored.metrics.firstTokenMs,
      lastTokenMs: decodeEnd(stored.metrics), totalMs: stored.metrics.totalMs, trace: stored.trace,
      error: null, group: null, savedId: stored.id,
    };
    setState((s) => ({ runs: [run, ...s.runs], currentRunId: run.id, layer: 0 }));
  } catch (e) { historyError('open the run', e); }
}

/** lastTokenMs back from the saved decode speed, so tokens/s shows the same figure. */
function decodeEnd(m: StoredRun['metrics']): number | null {
  if (m.firstTokenMs === null || !m.tokensPerS || m.tokenCount < 2) return m.firstTokenMs;
  return m.firstTokenMs + ((m.tokenCount - 1) * 1000) / m.tokensPerS;
}

export async function deleteSaved(id: string): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    await (await d).delete(id);
    setState((s) => ({ runs: s.runs.map((r) => (r.savedId === id ? { ...r, savedId: undefined } : r)) }));
    await refreshHistory();
  } catch (e) { historyError('delete the run', e); }
}

export async function clearSaved(): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    await (await d).clear();
    await refreshHistory();
  } catch (e) { historyError('be cleared', e); }
}

/** The history (or one run) as a JSON Blob, for a download link. */
export async function exportSaved(ids?: string[]): Promise<Blob | null> {
  const d = open();
  if (!d) return null;
  try {
    return await (await d).export(ids);
  } catch (e) { historyError('be exported', e); return null; }
}
