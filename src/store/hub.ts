/**
 * Hub slice actions (issue 7): convert a hub checkpoint in the browser (convertWorker.ts, the
 * CLI's converter) into the OPFS package cache, list and delete what is cached, and load a
 * cached package into the engine. The dtype comes from chooseDtype(adapter); a pre-flight
 * refusal keeps its figures so the panel can show the numbers.
 */
import type { BrowserConvertResult } from '../convert/browser/convertInBrowser';
import { runConversion } from '../convert/browser/convertProtocol';
import { chooseDtype } from '../convert/browser/dtype';
import { PreflightError } from '../convert/browser/preflight';
import { ConvertError } from '../common/errors';
import { OpfsPackageStore, packageKey } from '../package/opfsStore';
import { loadModel } from './model';
import { getState, setState } from './store';
import type { HubJob } from './types';

let makeWorker: (() => Worker) | null = null;
let worker: Worker | null = null;
let abort: AbortController | null = null;

/** main.tsx passes the factory (new Worker(new URL('…/convertWorker.ts', import.meta.url))). */
export function connectConverter(factory: () => Worker): void {
  makeWorker = factory;
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function setEndpoint(endpoint: string): void {
  setState({ endpoint: endpoint.trim() });
}

export function setGpuMemoryMb(mb: number | null): void {
  setState({ gpuMemoryMb: mb !== null && Number.isFinite(mb) && mb > 0 ? mb : null });
}

function jobError(job: HubJob, code: string, message: string, extra: Partial<NonNullable<HubJob['error']>> = {}): void {
  setState({ job: { ...job, status: 'error', error: { where: 'model', code, message, ...extra } } });
}

/** Convert `id` ("org/name") from the endpoint into the cache, then load it. */
export async function startConversion(rawId: string): Promise<void> {
  const id = rawId.trim();
  const s = getState();
  if (s.job?.status === 'running') return;
  const adapter = s.adapter?.backend === 'webgpu' ? s.adapter : null;
  const choice = chooseDtype(adapter);
  const key = packageKey(id, choice.dtype);
  const job: HubJob = {
    id,
    key,
    dtype: choice.dtype,
    reason: choice.reason,
    status: 'running',
    progress: null,
    error: null,
  };
  setState({ job });
  if (!HUB_ID.test(id))
    return jobError(
      job,
      'bad-id',
      `“${id}” is not a hub id: type it as organisation/name, e.g. llava-hf/llava-interleave-qwen-0.5b-hf.`,
    );
  if (!/^https?:\/\//.test(s.endpoint))
    return jobError(job, 'bad-endpoint', `The hub endpoint “${s.endpoint}” is not an http(s) URL.`);
  if (!makeWorker) return jobError(job, 'no-converter', 'The conversion worker is not available in this page.');
  worker ??= makeWorker();
  abort = new AbortController();
  let result: BrowserConvertResult;
  try {
    result = await runConversion(
      worker,
      {
        id,
        endpoint: s.endpoint,
        dtype: choice.dtype,
        key,
        adapter: adapter && {
          maxBufferSize: adapter.maxBufferSize,
          maxStorageBufferBindingSize: adapter.maxStorageBufferBindingSize,
          memoryBytes: s.gpuMemoryMb ? s.gpuMemoryMb * 2 ** 20 : null,
        },
      },
      (progress) => setState((st) => (st.job?.key === key ? { job: { ...st.job, progress } } : st)),
      abort.signal,
    );
  } catch (e) {
    const current = getState().job ?? job;
    if ((e as Error).name === 'AbortError' || abort?.signal.aborted) {
      setState({ job: { ...current, status: 'cancelled' } });
    } else if (e instanceof PreflightError) {
      jobError(current, `preflight-${e.reason}`, `Refused before downloading: ${id} ${e.detail}.`, {
        figures: e.figures,
      });
    } else if (e instanceof ConvertError) {
      jobError(current, e.code, e.message);
    } else {
      jobError(current, 'convert-failed', `The conversion of ${id} failed: ${(e as Error).message}`);
    }
    await refreshCache();
    return;
  } finally {
    abort = null;
  }
  setState((st) => ({ job: st.job ? { ...st.job, status: 'done' } : null }));
  await refreshCache();
  await loadCached(result.key);
}

export function cancelConversion(): void {
  abort?.abort();
}

async function store(): Promise<OpfsPackageStore | null> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) return null;
  return OpfsPackageStore.open();
}

function cacheError(what: string, error: unknown): void {
  setState((s) => ({
    errors: {
      ...s.errors,
      model: {
        where: 'model',
        code: 'cache',
        message: `The model cache could not ${what}: ${(error as Error).message}`,
      },
    },
  }));
}

export async function refreshCache(): Promise<void> {
  try {
    const st = await store();
    setState({ cached: st ? await st.list() : [] });
  } catch (e) {
    cacheError('be listed', e);
  }
}

export async function deleteCached(key: string): Promise<void> {
  try {
    await (await store())?.delete(key);
  } catch (e) {
    cacheError(`delete ${key}`, e);
  }
  await refreshCache();
}

/** Load a committed package from the cache (Files read lazily by the worker's loader). */
export async function loadCached(key: string): Promise<void> {
  try {
    const st = await store();
    if (!st) return;
    const entry = (getState().cached ?? []).find((p) => p.key === key);
    loadModel(
      { kind: 'files', files: await st.files(key) },
      `${entry?.sourceId ?? key} (${entry?.dtype ?? 'cached'}, from the browser cache)`,
    );
  } catch (e) {
    cacheError(`load ${key}`, e);
  }
}
