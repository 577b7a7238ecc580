/** Model slice actions: start the engine, load a package from a URL or a picked folder. */
import { clearError, isConnected, newRequestId, restartEngine, send, setDeviceLostHandler, showError } from './engine';
import { getState, setState } from './store';
import type { PackageSource } from '../package/source';

/** Reloads after device losses in one session before the app gives up and says so. */
const MAX_RECOVERIES = 5;

/** Where the bundled synthetic model is served (a package folder with manifest.json). */
export const SYNTHETIC_MODEL_URL = '/models/synthetic-tiny/';

/** Hub checkpoints offered for in-browser conversion (store/hub.ts); any other id can be typed. */
export const HUB_CHECKPOINTS = [
  { id: 'llava-hf/llava-interleave-qwen-0.5b-hf', size: '≈ 0.9 GB', note: 'SigLIP + Qwen2-0.5B, 729 visual tokens' },
  {
    id: 'llava-hf/llava-1.5-7b-hf',
    size: '≈ 14 GB (≈ 4 GB as q4)',
    note: 'CLIP ViT-L/336 + Vicuna-7B, 576 visual tokens',
  },
] as const;

/** init the worker (asking for wasm when there is no WebGPU), then load the synthetic model. */
export function startEngine(hasWebGpu: boolean): void {
  setState({ noWebGpu: !hasWebGpu, status: 'starting' });
  send({ type: 'init', id: newRequestId(), preferBackend: hasWebGpu ? 'webgpu' : 'wasm' }, 'init');
  loadModel({ kind: 'url', url: SYNTHETIC_MODEL_URL }, 'Synthetic tiny (bundled)');
}

export function loadModel(source: PackageSource, label: string): void {
  clearError('model');
  if (!isConnected()) {
    showError({
      where: 'model',
      code: 'no-engine',
      message: 'The engine worker is not running, so no model can be loaded.',
    });
    return;
  }
  const s = getState();
  const previous =
    s.status === 'ready' && s.info ? { info: s.info, sourceLabel: s.sourceLabel, lastSource: s.lastSource } : null;
  setState({ status: 'loading', sourceLabel: label, progress: null, info: null, lastSource: { source, label } });
  send({ type: 'load', id: newRequestId(), source }, 'load', previous);
}

/**
 * The engine lost its GPU device. Everything the person made stays in the store (image,
 * question, settings, runs); queued runs are dropped, the engine is replaced by a fresh worker
 * where the link can do that (else re-initialised in place), then the last model is reloaded.
 * Repeated losses while recovering count as one.
 */
export function recoverFromDeviceLoss(message: string): void {
  const s = getState();
  if (s.deviceLost && !s.deviceLost.recovered) return;
  const count = (s.deviceLost?.count ?? 0) + 1;
  setState({
    deviceLost: { message, recovered: false, count },
    runs: s.runs.map((r) => (r.status === 'queued' ? { ...r, status: 'stopped' } : r)),
  });
  if (count > MAX_RECOVERIES) {
    setState({ status: 'error' });
    showError({
      where: 'model',
      code: 'device-lost',
      message: `The GPU was lost ${count} times; reload the page to try again. (${message})`,
    });
    return;
  }
  if (!isConnected() || !s.lastSource) return;
  restartEngine(`The GPU was lost during this run (${message}).`);
  send({ type: 'init', id: newRequestId(), preferBackend: s.noWebGpu ? 'wasm' : 'webgpu' }, 'init');
  loadModel(s.lastSource.source, s.lastSource.label);
}
setDeviceLostHandler(recoverFromDeviceLoss);

export function loadFromUrl(url: string): void {
  const trimmed = url.trim();
  if (!trimmed) {
    showError({
      where: 'model',
      code: 'empty-url',
      message: 'Type the URL of a model package folder (the one holding manifest.json).',
    });
    return;
  }
  loadModel({ kind: 'url', url: trimmed.endsWith('/') ? trimmed : `${trimmed}/` }, trimmed);
}

/**
 * Files from <input webkitdirectory>: paths relative to the picked folder (its own name
 * stripped), so that manifest.json is at the root of the package.
 */
export function loadFromFolder(files: readonly File[]): void {
  if (files.length === 0) return;
  const withPaths = files.map((file) => {
    const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    return { path: rel.split('/').slice(1).join('/') || rel, file: file as Blob };
  });
  if (!withPaths.some((f) => f.path === 'manifest.json')) {
    showError({
      where: 'model',
      code: 'manifest-missing',
      message: 'That folder has no manifest.json at its top: pick the model package folder itself.',
    });
    return;
  }
  const folder =
    ((files[0] as File & { webkitRelativePath?: string }).webkitRelativePath ?? '').split('/')[0] || 'folder';
  loadModel({ kind: 'files', files: withPaths }, `Local folder “${folder}”`);
}
