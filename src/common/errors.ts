/**
 * The typed errors every layer throws (STYLE.md rule 6), in one place so package/, convert/ and
 * engine/ share them and the UI can turn each into a sentence where the person is looking.
 */

/**
 * One error type for everything the converter can refuse. The message is ONE line that names
 * the file and the problem, so the CLI can print it as is and the UI can show it beside the
 * file a person picked:
 *   model-00002-of-00003.safetensors: truncated: header says tensor "x" ends at byte 9,000,000 but the file has 8,500,000
 */
export type ConvertErrorCode =
  | 'missing-file'
  | 'missing-key'
  | 'bad-value'
  | 'unsupported'
  | 'bad-json'
  | 'bad-header'
  | 'truncated'
  | 'overlap'
  | 'unknown-dtype'
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'shape-mismatch'
  | 'bad-index'
  | 'download'
  /** A hub endpoint the page may not read (no CORS headers) or that ignores Range (browser/probe.ts). */
  | 'cors'
  | 'no-range'
  | 'size-mismatch'
  | 'output';

export class ConvertError extends Error {
  override readonly name = 'ConvertError';
  constructor(
    readonly code: ConvertErrorCode,
    /** The file the problem is in (a path relative to the checkpoint, or a URL). */
    readonly file: string,
    /** The problem, without the file name. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`.replace(/\s*\n\s*/g, ' '));
  }
}

/** 9000000 → "9,000,000": byte offsets in messages are read by people. */
export function fmtInt(value: number): string {
  return Math.trunc(value).toLocaleString('en-US');
}

/**
 * Typed engine errors. Each carries `where` (which part of the UI should show it), a stable
 * `code` and the data that explains it; `message` is one sentence a person can act on. The
 * worker turns them into protocol `error` messages as they are.
 */
export type EngineErrorWhere = 'model' | 'input' | 'answer' | 'gpu';

export type EngineErrorCode =
  // model package
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'manifest-version'
  | 'file-missing'
  | 'sha256-mismatch'
  | 'size-mismatch'
  | 'fetch-failed'
  | 'session-failed'
  // inputs
  | 'not-an-image'
  | 'empty-image'
  | 'truncated-image'
  | 'image-too-large'
  | 'empty-question'
  | 'question-too-long'
  | 'bad-option'
  // several images and video (issue 15)
  | 'no-image'
  | 'too-many-images'
  | 'no-frames'
  | 'unreadable-video'
  | 'too-many-frames'
  | 'video-with-images'
  | 'conversation-too-long'
  | 'conversation-gone'
  // running
  | 'no-model'
  | 'busy'
  | 'cancelled'
  | 'unknown-method'
  | 'gpu-unavailable'
  | 'run-failed';

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

export const isEngineError = (value: unknown): value is EngineError => value instanceof EngineError;
