/**
 * History slice actions: every run that finishes with an answer is saved to IndexedDB
 * (persist/runsDb.ts: thumbnail, question, settings, answer, trace, metrics), listed after a
 * reload, reopened into the panels, exported as JSON and deleted. The database is opened
 * lazily, so Node tests and browsers without IndexedDB simply keep no history.
 */
import { RunsDb, makeThumbnail, newRunId, runMetrics, type StoredRun } from './persist/runsDb';
import { newRequestId, setRunDoneHandler, showError } from './engine';
import { putFiles, setImageFromBlob, setQuestion } from './input';
import { askedAboutShown, imageVersionOf, imagesKey } from './runs';
import { getState, setState } from './store';
import type { Run } from './types';

let db: Promise<RunsDb> | null = null;

function open(): Promise<RunsDb> | null {
  if (typeof indexedDB === 'undefined') return null;
  db ??= RunsDb.open().catch((e) => {
    db = null;
    throw e;
  });
  return db;
}

function historyError(what: string, error: unknown): void {
  showError({
    where: 'answer',
    code: 'history',
    message: `The run history could not ${what}: ${(error as Error).message}`,
  });
}

export async function refreshHistory(): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    setState({ saved: await (await d).list() });
  } catch (e) {
    historyError('be read', e);
  }
}

export async function saveRun(run: Run): Promise<void> {
  const d = open();
  if (!d || run.savedId) return;
  const s = getState();
  const image = s.image && s.image.version === imageVersionOf(run) ? s.image : null;
  // Several images or a video's frames: a copy of each, when they are still the ones shown.
  const several = s.images.length > 1 && askedAboutShown(run, s) ? s.images : null;
  const id = newRunId();
  // Mark first: a second 'done' for the same run must not save it twice.
  setState((st) => ({ runs: st.runs.map((r) => (r.id === run.id ? { ...r, savedId: id } : r)) }));
  try {
    const stored: StoredRun = {
      id,
      createdAt: Date.now(),
      model: s.info?.name ?? null,
      imageName: run.imageName,
      thumbnail:
        (image ?? several?.[0])
          ? await makeThumbnail(new Blob([(image ?? several![0]).bytes], { type: (image ?? several![0]).mime }))
          : null,
      image: image ? new Blob([image.bytes], { type: image.mime }) : null,
      ...(several
        ? { images: several.map((im) => ({ name: im.name, blob: new Blob([im.bytes], { type: im.mime }) })) }
        : {}),
      ...(run.history?.length ? { history: run.history } : {}),
      question: run.question,
      settings: run.settings,
      maxNewTokens: run.maxNewTokens,
      label: run.label,
      answer: run.text,
      trace: run.trace,
      metrics: runMetrics(run.tokenCount, run.firstTokenMs, run.lastTokenMs, run.totalMs),
    };
    await (await d).put(stored);
    await refreshHistory();
  } catch (e) {
    historyError('save the run', e);
  }
}
setRunDoneHandler((run) => {
  void saveRun(run);
});

/**
 * Reopen a saved run: its own image and question go back into the input panel (so the explorer
 * draws its patches over the picture it was asked about), and the run into the answer,
 * explorer, raters and cost panels.
 */
export async function showSaved(id: string): Promise<void> {
  const d = open();
  const inMemory = getState().runs.find((r) => r.savedId === id) ?? null;
  let stored: StoredRun | null = null;
  try {
    stored = d ? await (await d).get(id) : null;
  } catch (e) {
    historyError('open the run', e);
    return;
  }
  if (!inMemory && !stored) {
    await refreshHistory();
    return;
  }
  const question = inMemory?.question ?? stored!.question;
  if (inMemory && askedAboutShown(inMemory, getState())) {
    // Its images (several, or a video's frames) are the ones shown now: nothing to put back.
    setQuestion(question);
    setState({ currentRunId: inMemory.id, layer: 0 });
    return;
  }
  let version: string | number = getState().image?.version ?? -1;
  if (stored?.images && stored.images.length > 1) {
    // Every image of the run, in prompt order (a video's frames come back as images).
    if (await putFiles(stored.images, 'replace')) version = imagesKey(getState());
  } else if (!(inMemory && imageVersionOf(inMemory) === version) && stored?.image) {
    if (await setImageFromBlob(stored.image, stored.imageName)) version = getState().image!.version;
  } else if (!inMemory && !stored?.image) {
    version = -1; // saved before images were kept: the explorer says it cannot draw this run
  }
  setQuestion(question);
  // Runs are keyed by image version (runs.ts runKey): the restored picture is a new version.
  const rekey = (key: string) => [String(version), ...key.split('|').slice(1)].join('|');
  if (inMemory) {
    setState((s) => ({
      runs: s.runs.map((r) => (r.id === inMemory.id ? { ...r, key: rekey(r.key) } : r)),
      currentRunId: inMemory.id,
      layer: 0,
    }));
    return;
  }
  const saved = stored!;
  const run: Run = {
    id: newRequestId(),
    key: `${version}|saved|${saved.id}`,
    settings: saved.settings,
    maxNewTokens: saved.maxNewTokens,
    label: saved.label,
    imageName: saved.imageName,
    question: saved.question,
    status: 'done',
    text: saved.answer,
    tokenCount: saved.metrics.tokenCount,
    firstTokenMs: saved.metrics.firstTokenMs,
    lastTokenMs: decodeEnd(saved.metrics),
    totalMs: saved.metrics.totalMs,
    trace: saved.trace,
    error: null,
    group: null,
    savedId: saved.id,
    ...(saved.history?.length ? { history: saved.history } : {}),
  };
  setState((s) => ({ runs: [run, ...s.runs], currentRunId: run.id, layer: 0 }));
}

/** lastTokenMs back from the saved decode speed, so tokens/s shows the same figure. */
function decodeEnd(runMetrics: StoredRun['metrics']): number | null {
  if (runMetrics.firstTokenMs === null || !runMetrics.tokensPerS || runMetrics.tokenCount < 2)
    return runMetrics.firstTokenMs;
  return runMetrics.firstTokenMs + ((runMetrics.tokenCount - 1) * 1000) / runMetrics.tokensPerS;
}

export async function deleteSaved(id: string): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    await (await d).delete(id);
    setState((s) => ({ runs: s.runs.map((r) => (r.savedId === id ? { ...r, savedId: undefined } : r)) }));
    await refreshHistory();
  } catch (e) {
    historyError('delete the run', e);
  }
}

export async function clearSaved(): Promise<void> {
  const d = open();
  if (!d) return;
  try {
    await (await d).clear();
    await refreshHistory();
  } catch (e) {
    historyError('be cleared', e);
  }
}

/** The history (or one run) as a JSON Blob, for a download link. */
export async function exportSaved(ids?: string[]): Promise<Blob | null> {
  const d = open();
  if (!d) return null;
  try {
    return await (await d).export(ids);
  } catch (e) {
    historyError('be exported', e);
    return null;
  }
}
