/**
 * Evaluate (issue 16): pick a benchmark folder in its published layout, choose the format and
 * the methods, run it on the loaded model, watch progress, read score against cost. Results
 * are kept in IndexedDB (store/evaluate.ts) and exported as the CLI's files.
 */
import { useEffect } from 'react';
import { FORMATS } from '../../eval/formats';
import { pickedFromHandle, pickedFromInput } from '../../eval/filesSource';
import type { FormatName } from '../../eval/types';
import {
  deleteSavedEval,
  openSavedEval,
  pickEvalFolder,
  refreshSavedEvals,
  setEvalOptions,
  startEvaluation,
  stopEvaluation,
} from '../../store/evaluate';
import type { EvalStatus } from '../../store/evalSlice';
import { formatDuration } from '../../store/progress';
import { useApp } from '../../store/store';
import { Empty, Panel } from '../Panel';
import { EvalChart } from './EvalChart';
import { EvalResultsTable, SkippedList } from './EvalResultsTable';
import { exportEval } from './evalExport';
import './eval.css';

type DirectoryPicker = () => Promise<FileSystemDirectoryHandle>;

async function pickWithHandle(): Promise<void> {
  const picker = (window as unknown as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  if (!picker) return;
  try {
    await pickEvalFolder(await pickedFromHandle(await picker()));
  } catch (e) {
    if ((e as DOMException).name !== 'AbortError') throw e;
  }
}

function Options() {
  const o = useApp((s) => s.evaluation.options);
  const running = useApp((s) => s.evaluation.status === 'running' || s.evaluation.status === 'stopping');
  const format = FORMATS[o.format];
  return (
    <fieldset className="eval-options" disabled={running}>
      <legend className="sr-only">Evaluation settings</legend>
      <label className="field" htmlFor="eval-format">
        <span>Benchmark format</span>
        <select
          id="eval-format"
          data-testid="eval.format"
          value={o.format}
          onChange={(e) => setEvalOptions({ format: e.target.value as FormatName })}
        >
          {Object.values(FORMATS).map((f) => (
            <option key={f.name} value={f.name}>
              {f.name}
            </option>
          ))}
        </select>
      </label>
      <p className="small muted">{format.description}</p>
      <label className="field" htmlFor="eval-methods">
        <span>Methods</span>
        <input
          id="eval-methods"
          data-testid="eval.methods"
          value={o.methods}
          onChange={(e) => setEvalOptions({ methods: e.target.value })}
          placeholder="none,sparsevlm:192,sparsevlm:64,fastv:64"
        />
      </label>
      <div className="row">
        <label className="field" htmlFor="eval-limit">
          <span>First N items</span>
          <input
            id="eval-limit"
            data-testid="eval.limit"
            type="number"
            min={1}
            value={o.limit ?? ''}
            placeholder="all"
            onChange={(e) =>
              setEvalOptions({ limit: e.target.value ? Math.max(1, Math.floor(Number(e.target.value))) : null })
            }
          />
        </label>
        <label className="field" htmlFor="eval-max-tokens">
          <span>Answer length (tokens)</span>
          <input
            id="eval-max-tokens"
            data-testid="eval.max-tokens"
            type="number"
            min={1}
            value={o.maxNewTokens}
            onChange={(e) => setEvalOptions({ maxNewTokens: Math.max(1, Math.floor(Number(e.target.value) || 1)) })}
          />
        </label>
      </div>
      <label className="field" htmlFor="eval-suffix">
        <span>Prompt suffix</span>
        <input
          id="eval-suffix"
          data-testid="eval.suffix"
          value={o.suffix ?? format.defaultSuffix}
          onChange={(e) => setEvalOptions({ suffix: e.target.value })}
        />
      </label>
      {o.suffix !== null && o.suffix !== format.defaultSuffix && (
        <button type="button" className="ghost small-button" onClick={() => setEvalOptions({ suffix: null })}>
          Use the reference suffix
        </button>
      )}
    </fieldset>
  );
}

function Folder() {
  const folder = useApp((s) => s.evaluation.folder);
  const itemCount = useApp((s) => s.evaluation.itemCount);
  const status = useApp((s) => s.evaluation.status);
  const running = status === 'running' || status === 'stopping';
  const hasPicker = typeof window !== 'undefined' && 'showDirectoryPicker' in window;
  return (
    <div className="row wrap">
      {hasPicker && (
        <button type="button" data-testid="eval.pick" disabled={running} onClick={() => void pickWithHandle()}>
          Pick a benchmark folder…
        </button>
      )}
      <label className="file-button">
        <input
          type="file"
          data-testid="eval.folder-input"
          disabled={running}
          {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
          onChange={(e) => {
            void pickEvalFolder(pickedFromInput(Array.from(e.target.files ?? [])));
            e.target.value = '';
          }}
        />
        <span>{hasPicker ? 'or choose it with the file dialog…' : 'Choose a benchmark folder…'}</span>
      </label>
      {folder && (
        <span className="small" data-testid="eval.folder" data-items={itemCount}>
          {status === 'reading'
            ? `Reading “${folder}”…`
            : `“${folder}”: ${itemCount} item${itemCount === 1 ? '' : 's'}`}
        </span>
      )}
    </div>
  );
}

function Progress() {
  const p = useApp((s) => s.evaluation.progress);
  const status = useApp((s) => s.evaluation.status);
  if (!p) return null;
  const share = p.total > 0 ? p.done / p.total : 0;
  return (
    <div
      className="progress"
      data-testid="eval.progress"
      data-done={p.done}
      data-total={p.total}
      data-resumed={p.resumed}
    >
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={p.total} aria-valuenow={p.done}>
        <span style={{ width: `${share * 100}%` }} />
      </div>
      <p className="small">
        {p.done} of {p.total} answers{p.resumed ? ` (${p.resumed} kept from before)` : ''}
        {status === 'running' && (
          <>
            {' '}
            · {formatDuration(p.etaS)} left{p.method ? ` · last: ${p.method} on ${p.itemId}` : ''}
          </>
        )}
        {status === 'stopping' && ' · stopping: the request in flight is cancelled, finished answers are kept…'}
      </p>
    </div>
  );
}

function Saved() {
  const saved = useApp((s) => s.evalSaved);
  const currentId = useApp((s) => s.evaluation.currentId);
  // An entry left 'running' by a closed tab or a reload is unfinished: the same folder and options continue it.
  const liveId = useApp((s) =>
    s.evaluation.status === 'running' || s.evaluation.status === 'stopping' ? s.evaluation.currentId : null,
  );
  useEffect(() => {
    void refreshSavedEvals();
  }, []);
  if (saved.length === 0)
    return <Empty testid="eval.saved-empty">Evaluations are kept here, in this browser, across reloads.</Empty>;
  return (
    <ul className="history-list eval-saved" data-testid="eval.saved">
      {saved.map((e) => {
        const status = e.status === 'running' && e.id !== liveId ? 'unfinished' : e.status;
        return (
          <li key={e.id} className={e.id === currentId ? 'on' : ''} data-testid="eval.saved-item" data-status={status}>
            <div className="history-text">
              <p>
                <strong>{e.header.format}</strong> · “{e.header.data}” · {e.header.model}{' '}
                <span className="muted">· {new Date(e.createdAt).toLocaleString()}</span>
              </p>
              <p className="muted">
                {e.methods.join(', ')} ·{' '}
                {status === 'unfinished'
                  ? 'unfinished: pick the same folder with the same options and Evaluate to continue'
                  : `${e.recordCount} of ${e.header.items * e.methods.length} answers · ${status}`}
              </p>
            </div>
            <div className="history-actions">
              <button
                type="button"
                className="small-button"
                onClick={() => void openSavedEval(e.id)}
                disabled={!e.results}
              >
                Show
              </button>
              <button
                type="button"
                className="small-button ghost"
                onClick={() => void deleteSavedEval(e.id)}
                aria-label="Delete this evaluation"
              >
                Delete
              </button>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** The status pill in words, capitalised like the answer panel's ("Done", not "done"). */
const EVAL_STATUS_WORDS: Record<EvalStatus, string> = {
  idle: 'No benchmark',
  reading: 'Reading…',
  ready: 'Ready',
  running: 'Running…',
  stopping: 'Stopping…',
  done: 'Done',
  stopped: 'Stopped',
  error: 'Failed',
};

export function EvalPanel() {
  const status = useApp((s) => s.evaluation.status);
  const error = useApp((s) => s.evaluation.error);
  const results = useApp((s) => s.evaluation.results);
  const speed = useApp((s) => s.evaluation.speed);
  const modelReady = useApp((s) => s.status === 'ready');
  const running = status === 'running' || status === 'stopping';
  return (
    <Panel
      id="eval"
      title="Evaluate"
      error={error ? { where: 'answer', code: 'eval', message: error } : undefined}
      aside={
        <span className={`pill ${status}`} data-testid="eval.status" data-status={status}>
          {EVAL_STATUS_WORDS[status]}
        </span>
      }
    >
      <p className="small muted">
        A benchmark folder as its authors publish it (POPE, GQA, MME, VQAv2/TextVQA, ScienceQA/MMBench), asked of the
        loaded model under each method, scored with the benchmark's own metric.
      </p>
      <Folder />
      <Options />
      <div className="row">
        <button
          type="button"
          className="primary"
          data-testid="eval.start"
          disabled={running || !modelReady || status === 'idle' || status === 'reading'}
          onClick={() => void startEvaluation()}
        >
          {status === 'stopped' ? 'Continue' : 'Evaluate'}
        </button>
        <button type="button" data-testid="eval.stop" disabled={status !== 'running'} onClick={stopEvaluation}>
          Stop
        </button>
      </div>
      <Progress />
      {results && (
        <>
          <EvalResultsTable results={results} speed={speed} />
          <SkippedList results={results} />
          <EvalChart results={results} speed={speed} />
          <div className="row tight">
            <button
              type="button"
              className="small-button ghost"
              data-testid="eval.export-json"
              onClick={() => exportEval('json', results, speed)}
            >
              Export JSON
            </button>
            <button
              type="button"
              className="small-button ghost"
              data-testid="eval.export-md"
              onClick={() => exportEval('md', results, speed)}
            >
              Export table (md)
            </button>
            <button
              type="button"
              className="small-button ghost"
              data-testid="eval.export-svg"
              onClick={() => exportEval('svg', results, speed)}
            >
              Export chart (SVG)
            </button>
          </div>
        </>
      )}
      <h3 className="small">Saved evaluations</h3>
      <Saved />
    </Panel>
  );
}
