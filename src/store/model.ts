/** Model slice actions: start the engine, load a package from a URL or a picked folder. */
import type { PackageSource } from '../engine/protocol';
import { clearError, isConnected, newRequestId, send, showError } from './engine';
import { setState } from './store';

/** Where the bundled synthetic model is served (a package folder with manifest.json). */
export const SYNTHETIC_MODEL_URL = '/models/synthetic-tiny/';

/** Hub checkpoints the converter reads; converting them in the browser is not wired yet. */
export const HUB_CHECKPOINTS = [
  { id: 'llava-hf/llava-interleave-qwen-0.5b-hf', size: '≈ 0.9 GB', note: 'SigLIP + Qwen2-0.5B, 729 visual tokens' },
  { id: 'llava-hf/llava-1.5-7b-hf', size: '≈ 14 GB (≈ 4 GB as q4)', note: 'CLIP ViT-L/336 + Vicuna-7B, 576 visual tokens' },
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
    showError({ where: 'model', code: 'no-engine', message: 'The engine worker is not running, so no model can be loaded.' });
    return;
  }
  setState({ status: 'loading', sourceLabel: label, progress: null, info: null });
  send({ type: 'load', id: newRequestId(), source }, 'load');
}

export function loadFromUrl(url: string): void {
  const trimmed = url.trim();
  if (!trimmed) {
    showError({ where: 'model', code: 'empty-url', message: 'Type the URL of a model package folder (the one holding manifest.json).' });
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
    showError({ where: 'model', code: 'manifest-missing', message: 'That folder has no manifest.json at its top: pick the model package folder itself.' });
    return;
  }
  const folder = ((files[0] as File & { webkitRelativePath?: string }).webkitRelativePath ?? '').split('/')[0] || 'folder';
  loadModel({ kind: 'files', files: withPaths }, `Local folder “${folder}”`);
}
