/**
 * Keeps the person's work across reloads (persist/session.ts does the storage): restore once
 * at start, then save on every change. Saved values are checked before use, so a stale or
 * hand-edited entry falls back to defaults instead of breaking the page.
 */
import { BUDGETS, METHODS } from './methods';
import { putFiles, setImageFromBlob, setVideoFromBlob } from './input';
import { ANSWER_LENGTHS } from './runs';
import {
  loadImage,
  loadInput,
  loadSettings,
  pickSettings,
  saveImage,
  saveInput,
  saveSettings,
  type SessionSettings,
} from './persist/session';
import { loadConversation, saveConversation, type SessionConversation } from './persist/conversation';
import { newRequestId } from './engine';
import { imagesKey } from './runs';
import { getState, setState, useApp } from './store';
import type { AppState, Run } from './types';

const THEMES = ['system', 'light', 'dark'] as const;

/** The saved fields that pass their checks, as a state patch. */
export function settingsPatch(saved: Partial<SessionSettings>, current: AppState = getState()): Partial<AppState> {
  const patch: Partial<AppState> = {};
  if (typeof saved.question === 'string') patch.question = saved.question;
  if (typeof saved.method === 'string' && METHODS.some((m) => m.name === saved.method)) patch.method = saved.method;
  if (typeof saved.budget === 'number' && (BUDGETS as readonly number[]).includes(saved.budget))
    patch.budget = saved.budget;
  if (saved.params && typeof saved.params === 'object') patch.params = saved.params;
  if (typeof saved.maxNewTokens === 'number' && (ANSWER_LENGTHS as readonly number[]).includes(saved.maxNewTokens))
    patch.maxNewTokens = saved.maxNewTokens;
  if (typeof saved.temperature === 'number' && saved.temperature >= 0 && saved.temperature <= 5)
    patch.temperature = saved.temperature;
  if (typeof saved.topP === 'number' && saved.topP > 0 && saved.topP <= 1) patch.topP = saved.topP;
  if (typeof saved.seed === 'number' && Number.isInteger(saved.seed) && saved.seed >= 0 && saved.seed <= 0xffffffff)
    patch.seed = saved.seed;
  if (saved.theme && (THEMES as readonly string[]).includes(saved.theme)) patch.theme = saved.theme;
  if (typeof saved.endpoint === 'string' && /^https?:\/\//.test(saved.endpoint)) patch.endpoint = saved.endpoint;
  if (
    typeof saved.frameCount === 'number' &&
    Number.isInteger(saved.frameCount) &&
    saved.frameCount >= 1 &&
    saved.frameCount <= 1024
  )
    patch.frameCount = saved.frameCount;
  if (saved.gpuMemoryMb === null || (typeof saved.gpuMemoryMb === 'number' && saved.gpuMemoryMb > 0))
    patch.gpuMemoryMb = saved.gpuMemoryMb;
  const c = saved.compare;
  if (
    c &&
    typeof c.enabled === 'boolean' &&
    Array.isArray(c.settings) &&
    c.settings.length >= 2 &&
    c.settings.every((x) => x && typeof x.method === 'string' && METHODS.some((m) => m.name === x.method))
  ) {
    patch.compare = { ...current.compare, enabled: c.enabled, settings: c.settings };
  }
  return patch;
}

export async function restoreSession(): Promise<void> {
  const saved = loadSettings();
  if (saved) setState(settingsPatch(saved));
  const input = await loadInput();
  if (input && !getState().image) {
    if (input.kind === 'video')
      await setVideoFromBlob(new Blob([input.video.bytes], { type: input.video.mime }), input.video.name);
    else
      await putFiles(
        input.images.map((im) => ({ blob: new Blob([im.bytes], { type: im.mime }), name: im.name })),
        'replace',
      );
  }
  const image = await loadImage();
  if (image && !getState().image) await setImageFromBlob(new Blob([image.bytes], { type: image.mime }), image.name);
  restoreConversation();
}

/** The conversation on screen before the reload, as a finished run over the images restored above. */
function restoreConversation(): void {
  const c = loadConversation();
  const s = getState();
  if (!c || !s.image || s.runs.length > 0) return;
  const run: Run = {
    id: newRequestId(),
    key: `${imagesKey(s)}|restored|${JSON.stringify(c.history)}|${c.question}`,
    settings: c.settings,
    ...(c.maxNewTokens !== undefined ? { maxNewTokens: c.maxNewTokens } : {}),
    label: c.label,
    imageName: s.video ? s.video.name : s.images.map((im) => im.name).join(' + '),
    question: c.question,
    status: c.status,
    text: c.answer,
    tokenCount: c.tokenCount,
    firstTokenMs: null,
    lastTokenMs: null,
    totalMs: null,
    trace: null,
    error: null,
    group: null,
    history: c.history,
  };
  setState({ runs: [run], currentRunId: run.id });
}

/** The current run as a conversation to keep over a reload: a settled follow-up; null for anything else. */
function conversationToSave(state: AppState): SessionConversation | null {
  const run = state.runs.find((r) => r.id === state.currentRunId);
  if (!run || !run.history?.length || (run.status !== 'done' && run.status !== 'stopped')) return null;
  return {
    history: run.history,
    question: run.question,
    answer: run.text,
    status: run.status,
    settings: run.settings,
    label: run.label,
    ...(run.maxNewTokens !== undefined ? { maxNewTokens: run.maxNewTokens } : {}),
    tokenCount: run.tokenCount,
  };
}

const SAVED_KEYS = [
  'question',
  'method',
  'budget',
  'params',
  'maxNewTokens',
  'temperature',
  'topP',
  'seed',
  'theme',
  'endpoint',
  'gpuMemoryMb',
  'frameCount',
  'compare',
] as const;

/** Save on change from now on; returns the unsubscribe. */
export function startSessionSync(): () => void {
  return useApp.subscribe((s, prev) => {
    if (SAVED_KEYS.some((k) => s[k] !== prev[k])) saveSettings(pickSettings(s));
    if (s.image !== prev.image) {
      const img = s.image;
      void saveImage(img ? { name: img.name, mime: img.mime, bytes: img.bytes } : null).catch(() => {
        /* the session still works */
      });
    }
    if (s.images !== prev.images || s.video !== prev.video)
      void saveSeveral(s).catch(() => {
        /* the session still works */
      });
    if (s.runs !== prev.runs || s.currentRunId !== prev.currentRunId) {
      // A settled follow-up is kept; a settled first question (a new conversation) forgets the old one.
      const run = s.runs.find((r) => r.id === s.currentRunId);
      if (run && (run.status === 'done' || run.status === 'stopped')) saveConversation(conversationToSave(s));
    }
  });
}

/** Several images, or the video itself (its frames are sampled again at restore); one image is 'image' alone. */
async function saveSeveral(state: AppState): Promise<void> {
  if (state.video) {
    await saveInput({
      kind: 'video',
      video: {
        name: state.video.name,
        mime: state.video.blob.type || 'video/webm',
        bytes: await state.video.blob.arrayBuffer(),
      },
    });
  } else if (state.images.length > 1) {
    await saveInput({
      kind: 'images',
      images: state.images.map((im) => ({ name: im.name, mime: im.mime, bytes: im.bytes })),
    });
  } else {
    await saveInput(null);
  }
}
