/**
 * Hub checkpoints converted in the browser: the list, a free hub-id field, the endpoint and
 * GPU-memory settings, the dtype chosen for this adapter and why, progress (phase, bytes,
 * rate, time left) and refusals with their numbers. Then the cache: size, load, delete.
 */
import { useEffect, useState } from 'react';
import type { BrowserConvertProgress } from '../convert/browser/convertInBrowser';
import type { PreflightFigures } from '../convert/browser/preflight';
import { chooseDtype } from '../convert/browser/dtype';
import {
  cancelConversion,
  deleteCached,
  loadCached,
  refreshCache,
  setEndpoint,
  setGpuMemoryMb,
  startConversion,
} from '../store/hub';
import { HUB_CHECKPOINTS } from '../store/model';
import { formatBytes, formatDuration } from '../store/progress';
import { useApp } from '../store/store';

const PHASE_WORDS: Record<BrowserConvertProgress['phase'], string> = {
  listing: 'Listing files',
  preflight: 'Checking it fits',
  download: 'Downloading',
  convert: 'Converting to int4',
  done: 'Done',
};

function ConvertProgress({ p }: { p: BrowserConvertProgress }) {
  const share = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 0;
  return (
    <div className="progress" data-testid="hub.progress" data-phase={p.phase}>
      <div
        className="bar"
        role="progressbar"
        aria-label="Conversion progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
      >
        <span style={{ width: `${share * 100}%` }} />
      </div>
      <p className="small">
        <strong>{PHASE_WORDS[p.phase]}</strong>
        {p.file ? ` ${p.file}` : ''}
        {p.bytesTotal > 0 && (
          <>
            {' '}
            · {formatBytes(p.bytesDone)} of {formatBytes(p.bytesTotal)}
          </>
        )}
        {p.bytesTotal > 0 && (
          <>
            {' · '}
            {p.rate === null ? 'measuring speed' : `${formatBytes(p.rate)}/s`}
            {p.etaS !== null && <> · {formatDuration(p.etaS)} left</>}
          </>
        )}
        {p.filesTotal > 0 && (
          <>
            {' '}
            · file {Math.min(p.filesDone + 1, p.filesTotal)}/{p.filesTotal}
          </>
        )}
      </p>
      {p.retrying && (
        <p className="small warn" data-testid="hub.retrying">
          {p.retrying}
        </p>
      )}
    </div>
  );
}

const FIGURE_WORDS: [keyof PreflightFigures, string][] = [
  ['downloadBytes', 'Download'],
  ['packageBytes', 'Package'],
  ['needBytes', 'Storage needed'],
  ['freeBytes', 'Storage free'],
  ['quotaBytes', 'Quota'],
  ['usageBytes', 'Used'],
  ['gpuBytes', 'GPU memory needed'],
  ['gpuMemoryBytes', 'GPU memory'],
  ['largestTensorBytes', 'Largest tensor'],
  ['maxBufferBytes', 'Largest GPU buffer'],
];

function Figures({ figures }: { figures: PreflightFigures }) {
  return (
    <dl className="facts" data-testid="hub.figures">
      {FIGURE_WORDS.filter(([k]) => typeof figures[k] === 'number').map(([k, label]) => (
        <div key={k} className="contents">
          <dt>{label}</dt>
          <dd data-testid={`hub.figure.${k}`}>{formatBytes(figures[k] as number)}</dd>
        </div>
      ))}
    </dl>
  );
}

function Job() {
  const job = useApp((s) => s.job);
  if (!job) return null;
  return (
    <div className="job" data-testid="hub.job" data-status={job.status}>
      <p className="small" data-testid="hub.dtype">
        <strong>{job.id}</strong> as <code>{job.dtype}</code>: {job.reason}
      </p>
      {job.status === 'running' && job.progress && <ConvertProgress p={job.progress} />}
      {job.status === 'running' && (
        <button type="button" className="small-button" data-testid="hub.cancel" onClick={cancelConversion}>
          Cancel
        </button>
      )}
      {job.status === 'cancelled' && (
        <p className="small muted" data-testid="hub.cancelled">
          Cancelled. What was downloaded stays, and the next attempt resumes from it.
        </p>
      )}
      {job.status === 'done' && (
        <p className="small" data-testid="hub.done">
          Converted and cached.
        </p>
      )}
      {job.error && (
        <div className="error" role="alert" data-testid="hub.error" data-code={job.error.code}>
          {job.error.message}
          {job.error.figures && <Figures figures={job.error.figures} />}
        </div>
      )}
    </div>
  );
}

function Cache() {
  const cached = useApp((s) => s.cached);
  const busy = useApp((s) => s.status === 'loading' || s.job?.status === 'running');
  useEffect(() => {
    void refreshCache();
  }, []);
  if (!cached) return null;
  const total = cached.reduce((n, p) => n + p.bytes, 0);
  return (
    <div className="cache" data-testid="cache.panel">
      <h3 className="small">
        In this browser's cache {cached.length > 0 && <span className="muted">· {formatBytes(total)}</span>}
      </h3>
      {cached.length === 0 ? (
        <p className="small muted" data-testid="cache.empty">
          Nothing cached yet.
        </p>
      ) : (
        <ul className="cache-list">
          {cached.map((p) => (
            <li key={p.key} data-testid="cache.item" data-key={p.key} data-state={p.state}>
              <span className="cache-name">
                <strong>{p.sourceId ?? p.key}</strong>
                <span className="small muted">
                  {' '}
                  {p.dtype ?? ''} · <span data-testid="cache.size">{formatBytes(p.bytes)}</span> ·{' '}
                  {p.state === 'ready' ? `${p.files} files` : 'incomplete download'}
                </span>
              </span>
              {p.state === 'ready' && (
                <button
                  type="button"
                  className="small-button"
                  data-testid="cache.load"
                  disabled={busy}
                  onClick={() => void loadCached(p.key)}
                >
                  Load
                </button>
              )}
              <button
                type="button"
                className="small-button ghost"
                data-testid="cache.delete"
                disabled={busy}
                aria-label={`Delete ${p.key} from the cache`}
                onClick={() => void deleteCached(p.key)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function HubSection() {
  const endpoint = useApp((s) => s.endpoint);
  const gpuMemoryMb = useApp((s) => s.gpuMemoryMb);
  const adapter = useApp((s) => s.adapter);
  const running = useApp((s) => s.job?.status === 'running' || s.status === 'loading');
  const [custom, setCustom] = useState('');
  const choice = chooseDtype(adapter?.backend === 'webgpu' ? adapter : null);
  return (
    <div className="hub" data-testid="hub.panel">
      <h3 className="small">
        Real checkpoints, converted here{' '}
        <span className="muted">
          · int4, <code data-testid="hub.dtype-choice">{choice.dtype}</code> on this adapter
        </span>
      </h3>
      <fieldset className="choices" disabled={running}>
        <legend className="sr-only">Hub checkpoints</legend>
        {HUB_CHECKPOINTS.map((c) => (
          <button
            key={c.id}
            type="button"
            className="choice"
            data-testid="model.hub"
            data-id={c.id}
            onClick={() => void startConversion(c.id)}
          >
            <strong>
              {c.id.split('/')[0]}/<wbr />
              {c.id.split('/').slice(1).join('/')}
            </strong>
            <span className="small muted">
              {c.note} · {c.size}
            </span>
          </button>
        ))}
      </fieldset>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void startConversion(custom);
        }}
      >
        <label className="sr-only" htmlFor="hub-id">
          Hub id
        </label>
        <input
          id="hub-id"
          data-testid="hub.id"
          placeholder="organisation/model"
          title="A hub id, organisation/model: a LLaVA-family checkpoint (LLaVA, or Qwen2 + SigLIP)"
          value={custom}
          onChange={(e) => setCustom(e.target.value)}
          disabled={running}
        />
        <button type="submit" data-testid="hub.convert" disabled={running || !custom.trim()}>
          Convert
        </button>
      </form>
      <details className="settings">
        <summary className="small">Hub settings</summary>
        <label className="field compact" htmlFor="hub-endpoint">
          <span>Endpoint</span>
          <input
            id="hub-endpoint"
            data-testid="hub.endpoint"
            type="url"
            value={endpoint}
            onChange={(e) => setEndpoint(e.target.value)}
            disabled={running}
          />
        </label>
        <label className="field compact" htmlFor="hub-gpu-memory">
          <span>GPU memory, MB (WebGPU does not say; optional)</span>
          <input
            id="hub-gpu-memory"
            data-testid="hub.gpu-memory"
            type="number"
            min={1}
            value={gpuMemoryMb ?? ''}
            onChange={(e) => setGpuMemoryMb(e.target.value === '' ? null : Number(e.target.value))}
            disabled={running}
          />
        </label>
      </details>
      <Job />
      <Cache />
    </div>
  );
}
