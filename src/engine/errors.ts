/** Helpers around EngineError (src/common/errors.ts): cancellation, wrapping any throwable, waits a Stop can cut short. */
import type { EngineErrorWhere, EngineErrorCode } from '../common/errors';
import { EngineError } from '../common/errors';

/** The request was cancelled through its AbortSignal; the engine stays usable. */
export const cancelled = (phase: string): EngineError =>
  new EngineError('answer', 'cancelled', `The request was cancelled during ${phase}.`, { phase });

/** Any throwable → EngineError, keeping typed ones as they are. */
export function asEngineError(thrown: unknown, where: EngineErrorWhere, code: EngineErrorCode): EngineError {
  if (thrown instanceof EngineError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
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
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
