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
  | 'empty-question' | 'question-too-long'
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
