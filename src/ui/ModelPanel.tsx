/** Pick a model, watch it load, see the adapter it runs on. */
import { useState } from 'react';
import { formatBytes, formatDuration } from '../store/progress';
import { SYNTHETIC_MODEL_URL, loadFromFolder, loadFromUrl, loadModel } from '../store/model';
import { useApp } from '../store/store';
import { isLocation, shortSource, visualTokenFacts } from './format';
import { HubSection } from './HubSection';
import { Panel } from './Panel';

const BUNDLED_LABEL = 'Synthetic tiny (bundled)';
const PHASE_WORDS = {
  download: 'Downloading',
  verify: 'Checking',
  session: 'Creating sessions',
  warmup: 'Warming up',
} as const;

/** A figure and its unit kept on one line ("584 KB/s" wrapped as "584" / "KB/s" at phone width). */
const unbroken = (text: string) => text.replace(/ /g, '\u00a0');

function Progress() {
  const p = useApp((s) => s.progress);
  if (!p) return null;
  const share = p.totalBytes > 0 ? p.loadedBytes / p.totalBytes : 0;
  const moving = p.phase === 'download' || p.phase === 'verify';
  return (
    <div className="progress" data-testid="model.progress">
      <div
        className="bar"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
      >
        <span style={{ width: `${share * 100}%` }} />
      </div>
      {moving ? (
        <p className="small">
          {PHASE_WORDS[p.phase]}
          {p.file ? ` ${p.file}` : ''} · {unbroken(formatBytes(p.loadedBytes))} of {unbroken(formatBytes(p.totalBytes))}
          {' · '}
          {p.rate === null ? 'measuring speed' : unbroken(`${formatBytes(p.rate)}/s`)}
          {p.remainingS !== null && <> · {formatDuration(p.remainingS)} left</>} · file {p.filesDone}/{p.filesTotal}
        </p>
      ) : (
        // Every byte is in: sessions are created and warmed up graph by graph (no transfer rate to show).
        <p className="small">
          {PHASE_WORDS[p.phase]}
          {p.file ? ` ${p.file}` : ''} · all {formatBytes(p.totalBytes)} downloaded and checked
          {p.phase === 'warmup' ? ' · compiling GPU pipelines, one graph at a time' : ''}
        </p>
      )}
    </div>
  );
}

function Adapter() {
  const a = useApp((s) => s.adapter);
  if (!a) return null;
  return (
    <dl className="facts" data-testid="model.adapter">
      <dt>Backend</dt>
      <dd>{a.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly (CPU)'}</dd>
      <dt>Adapter</dt>
      <dd>{[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unnamed'}</dd>
      {/* The GPU's rows only on WebGPU: on wasm they read "Software adapter" and "Max buffer 0 B". */}
      {a.backend === 'webgpu' && (
        <>
          {(a.isFallbackAdapter || a.software) && (
            <dd className="warn full" data-testid="model.adapter.software">
              Software adapter: the GPU is emulated on the CPU, so expect seconds, not milliseconds.
            </dd>
          )}
          <dt>shader-f16</dt>
          <dd>{a.shaderF16 ? 'yes' : 'no (f32 activations)'}</dd>
          <dt>Max buffer</dt>
          <dd>{formatBytes(a.maxBufferSize)}</dd>
          <dt>Max binding</dt>
          <dd>{formatBytes(a.maxStorageBufferBindingSize)}</dd>
        </>
      )}
    </dl>
  );
}

function Info() {
  const info = useApp((s) => s.info);
  const source = useApp((s) => s.sourceLabel);
  if (!info) return null;
  // Video-LLaVA: a frame goes through the video tower, CLS kept (65 where an image takes 64).
  const tokens = visualTokenFacts(info);
  return (
    <>
      {/* The loaded model by its own name (the choice card above is only one of the ways to load one). */}
      <p className="model-title" data-testid="model.title">
        <strong>{info.name}</strong> <span className="small muted">· loaded from {source}</span>
      </p>
      <dl className="facts" data-testid="model.info">
        <dt>Model</dt>
        <dd>{info.name}</dd>
        <dt>Layers</dt>
        <dd>
          {info.numLayers} × {info.hiddenSize} wide, {info.dtype}
        </dd>
        <dt>Visual tokens</dt>
        <dd data-testid="model.tokens">
          <span data-testid="model.tokens.image">{tokens.image}</span>
          {tokens.frame && (
            <>
              <br />
              <span data-testid="model.tokens.frame">{tokens.frame}</span>
            </>
          )}
        </dd>
        <dt>Size</dt>
        <dd>{formatBytes(info.bytes)}</dd>
      </dl>
      {info.synthetic && (
        <p className="note" data-testid="model.synthetic-note">
          This is the bundled synthetic model: random weights with the real architecture. Its answers are noise; the
          pruning, timings and costs are real.
        </p>
      )}
    </>
  );
}

export function ModelPanel() {
  const status = useApp((s) => s.status);
  const sourceLabel = useApp((s) => s.sourceLabel);
  const error = useApp((s) => s.errors.model);
  const [url, setUrl] = useState('');
  const busy = status === 'loading' || status === 'starting';
  const modelName = useApp((s) => s.info?.name ?? null);
  // The pill names the model in a few words (a URL source would be cut or wrap over lines); the
  // whole source is in its tooltip and in the model card.
  const shown = modelName !== null && isLocation(sourceLabel) ? modelName : shortSource(sourceLabel);
  const statusText = {
    idle: 'Not started',
    starting: 'Starting the engine…',
    loading: `Loading ${shortSource(sourceLabel)}…`,
    ready: `Ready: ${shown}`,
    error: 'No model loaded',
  }[status];
  const statusTitle = {
    idle: statusText,
    starting: statusText,
    loading: `Loading ${sourceLabel}…`,
    ready: `Ready: ${modelName ?? shown}, loaded from ${sourceLabel}`,
    error: statusText,
  }[status];
  return (
    <Panel
      id="model"
      title="Model"
      error={error}
      aside={
        <span className={`pill wrap ${status}`} data-testid="model.status" data-status={status} title={statusTitle}>
          {statusText}
        </span>
      }
    >
      <fieldset className="choices" disabled={busy}>
        <legend className="sr-only">Model source</legend>
        <button
          type="button"
          className={`choice ${sourceLabel === BUNDLED_LABEL && status === 'ready' ? 'on' : ''}`}
          data-testid="model.synthetic"
          onClick={() => loadModel({ kind: 'url', url: SYNTHETIC_MODEL_URL }, BUNDLED_LABEL)}
        >
          <strong>Synthetic tiny</strong>
          <span className="small muted">bundled · random weights · offline</span>
        </button>
      </fieldset>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          loadFromUrl(url);
        }}
      >
        <label className="sr-only" htmlFor="model-url">
          Package URL
        </label>
        <input
          id="model-url"
          data-testid="model.url"
          type="url"
          placeholder="https://…/my-model/"
          title="The URL of a model package folder: the one holding manifest.json"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          disabled={busy}
        />
        <button type="submit" disabled={busy}>
          Load
        </button>
      </form>
      <label className="file-button">
        <input
          type="file"
          data-testid="model.folder"
          disabled={busy}
          {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
          onChange={(e) => {
            loadFromFolder(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
        <span>Open a package folder…</span>
      </label>
      <Progress />
      <Info />
      <Adapter />
      <HubSection />
    </Panel>
  );
}
