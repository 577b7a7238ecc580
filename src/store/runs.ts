/**
 * Runs slice actions: ask, stop, compare. The engine serves one request at a time, so runs
 * queue and start one after another. A run whose key (image, question, settings, options)
 * matches a finished one is not run again: that answer is shown (greedy decoding is
 * deterministic), so changing a control back and forth re-runs only what it has to.
 */
import type { ConversationTurn, GenerateOptions, MethodSettings } from '../engine/protocol';
import { clearError, isConnected, newRequestId, send, setRunSettledHandler, showError } from './engine';
import { buildSettings, settingsKey, settingsLabel } from './methods';
import { getState, setState } from './store';
import type { AppState, Run } from './types';

/** Answer lengths the method panel offers (new tokens at most). */
export const ANSWER_LENGTHS = [8, 16, 32, 64, 128] as const;

const optionsFor = (state: AppState): GenerateOptions => ({
  maxNewTokens: state.maxNewTokens,
  temperature: state.temperature,
  topP: state.topP,
  seed: state.seed,
});

/** Runs kept in memory (their traces are a few hundred KB at most). */
const MAX_RUNS = 24;

export function currentSettings(state: AppState = getState()): MethodSettings {
  return buildSettings(state.method, state.budget, state.params[state.method]);
}

/** The versions of the question's images, in prompt order ('3' for one image, '3+4+5' for several). */
export const imagesKey = (state: Pick<AppState, 'images'>): string =>
  state.images.length ? state.images.map((im) => im.version).join('+') : '0';

function runKey(state: AppState, settings: MethodSettings): string {
  return [imagesKey(state), state.question.trim(), settingsKey(settings), JSON.stringify(optionsFor(state))].join('|');
}

/** The image version a run was asked about (the first field of its key; NaN for several images). */
export const imageVersionOf = (run: Pick<Run, 'key'>): number => Number(run.key.split('|')[0]);

/** Whether `run` was asked about exactly the images shown now, in the same order. */
export const askedAboutShown = (run: Pick<Run, 'key'>, state: Pick<AppState, 'images'>): boolean =>
  run.key.split('|')[0] === imagesKey(state);

/** The run's images in words: one name, the video with its frame count, or the names in order. */
function imagesLabel(state: AppState): string {
  if (state.video) return `${state.video.name} (${state.images.length} frame${state.images.length === 1 ? '' : 's'})`;
  return state.images.map((im) => im.name).join(' + ');
}

export const isActive = (run: Run) => run.status === 'queued' || run.status === 'running' || run.status === 'stopping';

/** Why asking is not possible now, in words; null when it is (while the model loads, the run waits for it). */
export function cannotAsk(state: AppState = getState()): string | null {
  if (state.status === 'error' || state.status === 'idle') return 'No model is loaded.';
  if (state.sampling) return `Reading the video ${state.sampling}…`;
  if (!state.image) return 'Add an image first.';
  if (!state.question.trim()) return 'Type a question first.';
  if (state.runs.some(isActive)) return 'A run is in progress.';
  return null;
}

function newRun(state: AppState, settings: MethodSettings, group: number | null, history?: ConversationTurn[]): Run {
  return {
    id: newRequestId(),
    key: history?.length ? followUpKey(state, settings, history) : runKey(state, settings),
    ...(history?.length ? { history } : {}),
    settings,
    maxNewTokens: state.maxNewTokens,
    label: settingsLabel(settings),
    imageName: imagesLabel(state),
    question: state.question.trim(),
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
      // A single question keeps the engine's caches for a follow-up; a follow-up continues them
      // (or, when the engine no longer has them, is prefilled whole from its history).
      ...(next.group === null ? { keepConversation: true } : {}),
      ...(next.history ? { history: next.history } : {}),
      ...(next.history && conversationOf(s, next) ? { conversation: conversationOf(s, next) } : {}),
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

/** A follow-up's key: its images, every earlier turn and its question, settings and options. */
function followUpKey(state: AppState, settings: MethodSettings, history: ConversationTurn[]): string {
  return [
    imagesKey(state),
    JSON.stringify(history),
    state.question.trim(),
    settingsKey(settings),
    JSON.stringify(optionsFor(state)),
  ].join('|');
}

/**
 * The engine conversation a follow-up continues: the one the nearest earlier turn left (a
 * stopped turn keeps none; the engine then continues the one before it, prefilling the stopped
 * turn's tokens with the new ones, as its kept ids are a prefix of the conversation).
 */
function conversationOf(state: AppState, run: Run): string | undefined {
  for (let r = state.runs.find((x) => x.id === run.followUpOf); r; r = state.runs.find((x) => x.id === r!.followUpOf))
    if (r.conversationId) return r.conversationId;
  return undefined;
}

/** Why a follow-up on `run` is not possible now, in words; null when it is. */
export function cannotFollowUp(run: Run | null, question: string, state: AppState = getState()): string | null {
  if (!run || (run.status !== 'done' && run.status !== 'stopped')) return 'Follow up once the answer is there.';
  if (run.group !== null) return 'Compare runs are not conversations: ask one question to follow up on it.';
  if (state.status !== 'ready') return 'No model is loaded.';
  if (!askedAboutShown(run, state))
    return 'The images changed since this answer: put its images back (history: Show) or ask a new question.';
  if (state.runs.some(isActive)) return 'A run is in progress.';
  if (!question.trim()) return 'Type a follow-up question first.';
  return null;
}

/**
 * Ask `question` as the next turn after `run` (issue 15): the earlier turns travel with it, and
 * the engine prefills only the new turn on the caches it kept (engine/conversation.ts).
 */
export function askFollowUp(runId: number, question: string): void {
  const s = getState();
  const prev = s.runs.find((r) => r.id === runId) ?? null;
  const why = cannotFollowUp(prev, question, s);
  if (why) {
    showError({ where: 'answer', code: 'cannot-ask', message: why });
    return;
  }
  clearError('answer');
  const history = [...(prev!.history ?? []), { question: prev!.question, answer: prev!.text }];
  const run: Run = {
    ...newRun({ ...s, question }, prev!.settings, null, history),
    // The conversation keeps the settings it was pruned with (another method prefills it whole).
    label: prev!.label,
    maxNewTokens: s.maxNewTokens,
    followUpOf: prev!.id,
  };
  setState({ currentRunId: run.id });
  enqueue([run]);
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
