/**
 * What the person was working on survives a reload: the question, method settings, compare
 * set, theme and hub settings in localStorage (small JSON), the image bytes in IndexedDB
 * (they can be MBs). Saved on every change (image only when its version changes), restored
 * once at start before the engine is asked anything.
 */
import type { AppState } from '../types';

const SETTINGS_KEY = 'sparsevlm.session.v1';
const DB = 'sparsevlm-session';
const STORE = 'kv';

/** The persisted part of the state (plain JSON). */
export type SessionSettings = Pick<
  AppState,
  | 'question'
  | 'method'
  | 'budget'
  | 'params'
  | 'maxNewTokens'
  | 'temperature'
  | 'topP'
  | 'seed'
  | 'theme'
  | 'endpoint'
  | 'gpuMemoryMb'
  | 'frameCount'
> & {
  compare: Pick<AppState['compare'], 'enabled' | 'settings'>;
};

export interface SessionImage {
  name: string;
  mime: string;
  bytes: ArrayBuffer;
}

export function pickSettings(state: AppState): SessionSettings {
  return {
    question: state.question,
    method: state.method,
    budget: state.budget,
    params: state.params,
    maxNewTokens: state.maxNewTokens,
    temperature: state.temperature,
    topP: state.topP,
    seed: state.seed,
    theme: state.theme,
    endpoint: state.endpoint,
    gpuMemoryMb: state.gpuMemoryMb,
    frameCount: state.frameCount,
    compare: { enabled: state.compare.enabled, settings: state.compare.settings },
  };
}

/** Saved settings, or null when none (or unreadable: a reload must never break the page). */
export function loadSettings(
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): Partial<SessionSettings> | null {
  try {
    const text = storage?.getItem(SETTINGS_KEY);
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    return parsed && typeof parsed === 'object' ? (parsed as Partial<SessionSettings>) : null;
  } catch {
    return null;
  }
}

export function saveSettings(
  settings: SessionSettings,
  storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage,
): void {
  try {
    storage?.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* quota or privacy mode: keep working */
  }
}

const request = <T>(req: IDBRequest<T>) =>
  new Promise<T>((ok, fail) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });

let db: Promise<IDBDatabase> | null = null;
function openDb(): Promise<IDBDatabase> {
  db ??= (() => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore(STORE);
    };
    return request(req);
  })();
  return db;
}

export async function saveImage(image: SessionImage | null): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  const store = (await openDb()).transaction(STORE, 'readwrite').objectStore(STORE);
  if (image) await request(store.put(image, 'image'));
  else await request(store.delete('image'));
}

export async function loadImage(): Promise<SessionImage | null> {
  if (typeof indexedDB === 'undefined') return null;
  try {
    const value = (await request((await openDb()).transaction(STORE, 'readonly').objectStore(STORE).get('image'))) as
      SessionImage | undefined;
    return value && value.bytes instanceof ArrayBuffer ? value : null;
  } catch {
    return null;
  }
}

/**
 * Several images in prompt order, or a video (sampled again at restore): kept beside 'image'
 * (which then holds the first image), so a session saved before issue 15 restores as before.
 */
export type SessionInput = { kind: 'images'; images: SessionImage[] } | { kind: 'video'; video: SessionImage };

export async function saveInput(input: SessionInput | null): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  const store = (await openDb()).transaction(STORE, 'readwrite').objectStore(STORE);
  if (input) await request(store.put(input, 'input'));
  else await request(store.delete('input'));
}

export async function loadInput(): Promise<SessionInput | null> {
  if (typeof indexedDB === 'undefined') return null;
  try {
    const value = (await request((await openDb()).transaction(STORE, 'readonly').objectStore(STORE).get('input'))) as
      SessionInput | undefined;
    const ok = (im: SessionImage | undefined) => !!im && typeof im.name === 'string' && im.bytes instanceof ArrayBuffer;
    if (value?.kind === 'video' && ok(value.video)) return value;
    if (value?.kind === 'images' && Array.isArray(value.images) && value.images.length > 1 && value.images.every(ok))
      return value;
    return null;
  } catch {
    return null;
  }
}
