/**
 * Typed engine errors (STYLE.md rule 6). Each carries `where` (which part of the UI should
 * show it), a stable `code` and the data that explains it; `message` is one sentence a
 * person can act on. The worker turns them into protocol `error` messages as they are.
 */
import type { EngineErrorWhere } from './protocol';

export type EngineErrorCode =
  // model package
  | 'manifest-missing' | 'manifest-invalid' | 'manifest-version' | 'file-missing'
  | 'sha256-mismatch' | 'size-mismatch' | 'fetch-failed' | 'session-failed'
  // inputs
  | 'not-an-image' | 'empty-image' | 'truncated-image' | 'image-too-large'
  | 'empty-question' | 'question-too-long' | 'bad-option'
  // several images and video (issue 15)
  | 'no-image' | 'too-many-images' | 'no-frames' | 'unreadable-video' | 'too-many-frames'
  // running
  | 'no-model' | 'busy' | 'cancelled' | 'unknown-method' | 'gpu-unavailable' | 'run-failed';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly where: EngineErrorWhere,
    readonly code: EngineErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isEngineError = (e: unknown): e is EngineError => e instanceof EngineError;

/** The request was cancelled through its AbortSignal; the engine stays usable. */
export const cancelled = (phase: string): EngineError =>
  new EngineError('answer', 'cancelled', `The request was cancelled during ${phase}.`, { phase });

/** Any throwable → EngineError, keeping typed ones as they are. */
export function asEngineError(e: unknown, where: EngineErrorWhere, code: EngineErrorCode): EngineError {
  if (e instanceof EngineError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new EngineError(where, code, message.split('\n')[0], { cause: message });
}

/**
 * `work`, unless `signal` aborts first: then a `cancelled(phase)` at once, and `work` finishes
 * on its own with its result dropped. For GPU read-backs, which wait for every layer queued
 * before them (seconds on a software adapter): Stop must not wait for those. Only for work
 * that holds no ORT session (sessions must not run concurrently with the next request).
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, phase: string): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled(phase));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
      (error) => { signal.removeEventListener('abort', onAbort); reject(error); },
    );
  });
}
