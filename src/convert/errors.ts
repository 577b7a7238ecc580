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
