/** Saved runs (IndexedDB): thumbnail, settings, question and answer; reopen, export, delete. */
import { useEffect, useMemo } from 'react';
import { clearSaved, deleteSaved, exportSaved, refreshHistory, showSaved } from '../store/history';
import { useApp } from '../store/store';
import type { RunSummary } from '../store/persist/runsDb';
import { download } from './exportFiles';
import { clip, formatMs } from './format';
import { Empty, Panel } from './Panel';

/** Object URLs for the thumbnails, revoked when the list changes. */
function useThumbnails(saved: RunSummary[]): Map<string, string> {
  const urls = useMemo(
    () => new Map(saved.filter((r) => r.thumbnail).map((r) => [r.id, URL.createObjectURL(r.thumbnail!)])),
    [saved],
  );
  useEffect(
    () => () => {
      for (const url of urls.values()) URL.revokeObjectURL(url);
    },
    [urls],
  );
  return urls;
}

async function exportToFile(ids?: string[]): Promise<void> {
  const blob = await exportSaved(ids);
  if (blob) download(blob, ids?.length === 1 ? `sparsevlm-run-${ids[0]}.json` : 'sparsevlm-runs.json');
}

export function HistoryPanel() {
  const saved = useApp((s) => s.saved);
  const currentSavedId = useApp((s) => s.runs.find((r) => r.id === s.currentRunId)?.savedId);
  const thumbs = useThumbnails(saved);
  useEffect(() => {
    void refreshHistory();
  }, []);
  return (
    <Panel
      id="history"
      title="Saved runs"
      aside={
        saved.length > 0 && (
          <span className="row tight">
            <button
              type="button"
              className="small-button ghost"
              data-testid="history.export"
              onClick={() => void exportToFile()}
            >
              Export all
            </button>
            <button
              type="button"
              className="small-button ghost"
              data-testid="history.clear"
              onClick={() => void clearSaved()}
            >
              Clear
            </button>
          </span>
        )
      }
    >
      {saved.length === 0 ? (
        <Empty testid="history.empty">Finished runs are kept here, in this browser, across reloads.</Empty>
      ) : (
        <ul className="history-list">
          {saved.map((r) => (
            <li
              key={r.id}
              className={r.id === currentSavedId ? 'on' : ''}
              data-testid="history.item"
              data-id={r.id}
              data-label={r.label}
            >
              {thumbs.has(r.id) ? (
                <img src={thumbs.get(r.id)} alt="" />
              ) : (
                <span className="history-thumb" aria-hidden="true" />
              )}
              <div className="history-text">
                <p className="history-label" data-testid="history.label">
                  <strong>{r.label}</strong>
                  {r.history?.length ? (
                    <span className="muted" data-testid="history.turn">
                      {' '}
                      · turn {r.history.length + 1}
                    </span>
                  ) : null}
                </p>
                <p className="muted">{new Date(r.createdAt).toLocaleString()}</p>
                <p
                  className="muted"
                  data-testid="history.question"
                  title={r.question.length > 120 ? r.question : undefined}
                >
                  “{clip(r.question, 120)}”
                </p>
                <p data-testid="history.answer">{r.answer || '—'}</p>
                <p className="muted" data-testid="history.metrics">
                  {r.metrics.tokenCount}
                  {r.maxNewTokens ? ` of up to ${r.maxNewTokens}` : ''} tokens · {formatMs(r.metrics.totalMs)}
                </p>
              </div>
              <div className="history-actions">
                <button
                  type="button"
                  className="small-button"
                  data-testid="history.show"
                  onClick={() => void showSaved(r.id)}
                  aria-label={`Show run ${r.label}: ${r.question}`}
                >
                  Show
                </button>
                <button
                  type="button"
                  className="small-button ghost"
                  data-testid="history.export-one"
                  onClick={() => void exportToFile([r.id])}
                  aria-label="Export this run"
                >
                  Export
                </button>
                <button
                  type="button"
                  className="small-button ghost"
                  data-testid="history.delete"
                  onClick={() => void deleteSaved(r.id)}
                  aria-label="Delete this run"
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
