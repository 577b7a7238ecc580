/**
 * Runs slice actions: ask, stop, compare. The engine serves one request at a time, so runs
 * queue and start one after another. A run whose key (image, question, settings, options)
 * matches a finished one is not run again: that answer is shown (greedy decoding is
 * deterministic), so changing a control back and forth re-runs only what it has to.
 */
import type { GenerateOptions, MethodSettings } from '../engine/protocol';
import { clearError, isConnected, newRequestId, send, setRunSettledHandler, showError } from './engine';
import { buildSettings, settingsKey, settingsLabel } from './methods';
import { getState, setState } from './store';
import type { AppState, Run } from './types';

/** Answer lengths the method panel offers (new tokens at most). */
export const ANSWER_LENGTHS = [8, 16, 32, 64, 128] as const;

const optionsFor = (s: AppState): GenerateOptions => ({
  maxNewTokens: s.maxNewTokens,
  temperature: s.temperature,
  topP: s.topP,
  seed: s.seed,
});

/** Runs kept in memory (their traces are a few hundred KB at most). */
const MAX_RUNS = 24;

export function currentSettings(s: AppState = getState()): MethodSettings {
  return buildSettings(s.method, s.budget, s.params[s.method]);
}

/** The versions of the question's images, in prompt order ('3' for one image, '3+4+5' for several). */
export const imagesKey = (s: Pick<AppState, 'images'>): string =>
  s.images.length ? s.images.map((im) => im.version).join('+') : '0';

function runKey(s: AppState, settings: MethodSettings): string {
  return [imagesKey(s), s.question.trim(), settingsKey(settings), JSON.stringify(optionsFor(s))].join('|');
}

/** The image version a run was asked about (the first field of its key; NaN for several images). */
export const imageVersionOf = (run: Pick<Run, 'key'>): number => Number(run.key.split('|')[0]);

/** Whether `run` was asked about exactly the images shown now, in the same order. */
export const askedAboutShown = (run: Pick<Run, 'key'>, s: Pick<AppState, 'images'>): boolean =>
  run.key.split('|')[0] === imagesKey(s);

/** The run's images in words: one name, the video with its frame count, or the names in order. */
function imagesLabel(s: AppState): string {
  if (s.video) return `${s.video.name} (${s.images.length} frame${s.images.length === 1 ? '' : 's'})`;
  return s.images.map((im) => im.name).join(' + ');
}

export const isActive = (r: Run) => r.status === 'queued' || r.status === 'running' || r.status === 'stopping';

/** Why asking is not possible now, in words; null when it is (while the model loads, the run waits for it). */
export function cannotAsk(s: AppState = getState()): string | null {
  if (s.status === 'error' || s.status === 'idle') return 'No model is loaded.';
  if (s.sampling) return `Reading the video ${s.sampling}…`;
  if (!s.image) return 'Add an image first.';
  if (!s.question.trim()) return 'Type a question first.';
  if (s.runs.some(isActive)) return 'A run is in progress.';
  return null;
}

function newRun(s: AppState, settings: MethodSettings, group: number | null): Run {
  return {
    id: newRequestId(),
    key: runKey(s, settings),
    settings,
    maxNewTokens: s.maxNewTokens,
    label: settingsLabel(settings),
    imageName: imagesLabel(s),
    question: s.question.trim(),
    status: 'queued',
    text: '',
    tokenCount: 0,
    firstTokenMs: null,
    lastTokenMs: null,
    totalMs: null,
    trace: null,
    error: null,
    group,
  };
}

/** Post the oldest queued run when none is running. */
function pump(): void {
  const s = getState();
  if (s.status !== 'ready') return; // queued runs start when the model is loaded (engine.ts 'loaded')
  if (s.runs.some((r) => r.status === 'running' || r.status === 'stopping')) return;
  const next = [...s.runs].reverse().find((r) => r.status === 'queued');
  if (!next || !s.image) return;
  setState({
    runs: s.runs.map((r) => (r.id === next.id ? { ...r, status: 'running', startedAt: performance.now() } : r)),
  });
  // Several images or a video's frames go as `images`, in prompt order (one image as before).
  const many = s.images.length > 1 || s.video !== null;
  send(
    {
      type: 'generate',
      id: next.id,
      image: { bytes: many ? new ArrayBuffer(0) : s.image.bytes.slice(0), mime: s.image.mime, name: s.image.name },
      ...(many
        ? {
            images: s.images.map((im) => ({
              bytes: im.bytes.slice(0),
              mime: im.mime,
              name: im.name,
              ...(im.frame ? { frame: { index: im.frame.index, of: im.frame.of } } : {}),
            })),
          }
        : {}),
      question: next.question,
      settings: next.settings,
      options: optionsFor(s),
    },
    'generate',
  );
}
setRunSettledHandler(pump);

function enqueue(runs: Run[]): void {
  setState((s) => ({ runs: [...runs.slice().reverse(), ...s.runs].slice(0, MAX_RUNS) }));
  pump();
}

/** Ask with the current settings (or run the compare set when compare mode is on). */
export function ask(): void {
  const s = getState();
  const why = cannotAsk(s);
  if (why) {
    showError({ where: s.image ? 'answer' : 'input', code: 'cannot-ask', message: why });
    return;
  }
  if (!isConnected()) {
    showError({ where: 'answer', code: 'no-engine', message: 'The engine worker is not running.' });
    return;
  }
  // Asking is possible now, so whatever went wrong before is past: a refused question (shown in
  // the input panel) must not stay on screen through the runs that follow.
  clearError('answer');
  clearError('input');
  if (s.compare.enabled) return runCompare();
  const settings = currentSettings(s);
  const key = runKey(s, settings);
  const cached = s.runs.find((r) => r.key === key && r.status === 'done');
  if (cached) {
    setState({ currentRunId: cached.id });
    return;
  }
  const run = newRun(s, settings, null);
  setState({ currentRunId: run.id });
  enqueue([run]);
}

function runCompare(): void {
  const s = getState();
  const group = newRequestId();
  const runs: Run[] = [];
  const ids: number[] = [];
  for (const settings of s.compare.settings) {
    const key = runKey(s, settings);
    const cached = s.runs.find((r) => r.key === key && r.status === 'done');
    if (cached) ids.push(cached.id);
    else {
      const run = newRun(s, settings, group);
      runs.push(run);
      ids.push(run.id);
    }
  }
  setState({ compare: { ...s.compare, runIds: ids }, currentRunId: ids[ids.length - 1] ?? s.currentRunId });
  enqueue(runs);
}

/** Stop the running request and drop the queued ones. */
export function stop(): void {
  const s = getState();
  const running = s.runs.find((r) => r.status === 'running');
  setState({
    runs: s.runs.map((r) =>
      r.status === 'queued' ? { ...r, status: 'stopped' } : r.id === running?.id ? { ...r, status: 'stopping' } : r,
    ),
  });
  if (running) send({ type: 'cancel', id: running.id });
}

export function selectRun(id: number): void {
  setState({ currentRunId: id, layer: 0 });
}

export function setCompareEnabled(enabled: boolean): void {
  setState((s) => ({ compare: { ...s.compare, enabled } }));
}

export function setCompareSettings(index: number, settings: MethodSettings): void {
  setState((s) => ({
    compare: { ...s.compare, settings: s.compare.settings.map((x, i) => (i === index ? settings : x)) },
  }));
}

export function addCompareSettings(): void {
  setState((s) => ({ compare: { ...s.compare, settings: [...s.compare.settings, currentSettings(s)] } }));
}

export function removeCompareSettings(index: number): void {
  setState((s) =>
    s.compare.settings.length <= 2
      ? s
      : { compare: { ...s.compare, settings: s.compare.settings.filter((_, i) => i !== index) } },
  );
}
