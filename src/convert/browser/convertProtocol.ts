/**
 * Messages between the page and convertWorker.ts, and the page-side client. Plain
 * structured-clone data; errors travel as SerializedError and come back as ConvertError
 * (PreflightError keeps its reason and figures, so the UI can show the numbers).
 */
import { ConvertError, type ConvertErrorCode } from '../../common/errors';
import type { BrowserConvertOptions, BrowserConvertProgress, BrowserConvertResult } from './convertInBrowser';
import { PreflightError, type PreflightFigures, type PreflightReason } from './preflight';

/** What the page sends: the options minus what cannot cross the worker boundary. */
export type ConvertRequest = Omit<BrowserConvertOptions, 'store' | 'signal' | 'onProgress' | 'root'>;

export type ConvertToWorker = { type: 'convert'; id: number; request: ConvertRequest } | { type: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
  code?: ConvertErrorCode;
  file?: string;
  detail?: string;
  reason?: PreflightReason;
  figures?: PreflightFigures;
}

export type ConvertFromWorker =
  | { type: 'progress'; id: number; progress: BrowserConvertProgress }
  | { type: 'done'; id: number; result: BrowserConvertResult }
  | { type: 'error'; id: number; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof PreflightError)
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      file: err.file,
      detail: err.detail,
      reason: err.reason,
      figures: err.figures,
    };
  if (err instanceof ConvertError)
    return { name: err.name, message: err.message, code: err.code, file: err.file, detail: err.detail };
  const e = err as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err) };
}

export function reviveError(serialized: SerializedError): Error {
  if (serialized.reason && serialized.figures && serialized.file !== undefined && serialized.detail !== undefined)
    return new PreflightError(serialized.reason, serialized.file, serialized.detail, serialized.figures);
  if (serialized.code && serialized.file !== undefined && serialized.detail !== undefined)
    return new ConvertError(serialized.code, serialized.file, serialized.detail);
  const e = new Error(serialized.message);
  e.name = serialized.name;
  return e;
}

let nextId = 1;

/**
 * Runs one conversion in `worker` (new Worker(new URL('./convertWorker.ts', import.meta.url),
 * { type: 'module' })); resolves with the result, rejects with a revived error.
 */
export function runConversion(
  worker: Worker,
  request: ConvertRequest,
  onProgress?: (p: BrowserConvertProgress) => void,
  signal?: AbortSignal,
): Promise<BrowserConvertResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (e: MessageEvent<ConvertFromWorker>) => {
      const m = e.data;
      if (m.id !== id) return;
      if (m.type === 'progress') return onProgress?.(m.progress);
      worker.removeEventListener('message', onMessage);
      if (m.type === 'done') resolve(m.result);
      else reject(reviveError(m.error));
    };
    worker.addEventListener('message', onMessage);
    signal?.addEventListener('abort', () => worker.postMessage({ type: 'cancel', id } satisfies ConvertToWorker), {
      once: true,
    });
    worker.postMessage({ type: 'convert', id, request } satisfies ConvertToWorker);
  });
}
