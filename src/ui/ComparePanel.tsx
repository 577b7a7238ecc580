/** Compare mode: several settings on the same image and question, side by side. */
import { useShallow } from 'zustand/react/shallow';
import type { MethodSettings } from '../engine/protocol';
import { BUDGETS, METHODS, methodEntry, settingsLabel } from '../store/methods';
import {
  addCompareSettings,
  removeCompareSettings,
  selectRun,
  setCompareEnabled,
  setCompareSettings,
} from '../store/runs';
import { useApp } from '../store/store';
import { RunMetrics, STATUS_WORDS } from './AnswerPanel';
import { ExplorerSvg } from './charts/ExplorerSvg';
import { costSummary } from './charts/cost';
import { Panel } from './Panel';

function SettingsRow({ index, settings, removable }: { index: number; settings: MethodSettings; removable: boolean }) {
  const entry = methodEntry(settings.method);
  const change = (method: string, budget: number | undefined) => {
    const next: MethodSettings = { method };
    if (methodEntry(method).usesBudget) next.budget = budget ?? 64;
    setCompareSettings(index, next);
  };
  return (
    <div className="row compare-row" data-testid={`compare.setting.${index}`}>
      <select
        aria-label={`Method ${index + 1}`}
        data-testid={`compare.method.${index}`}
        value={settings.method}
        onChange={(e) => change(e.target.value, settings.budget)}
      >
        {METHODS.map((m) => (
          <option key={m.name} value={m.name}>
            {m.short}
          </option>
        ))}
      </select>
      <select
        aria-label={`Budget ${index + 1}`}
        data-testid={`compare.budget.${index}`}
        value={settings.budget ?? ''}
        disabled={!entry.usesBudget}
        onChange={(e) => change(settings.method, Number(e.target.value))}
      >
        {!entry.usesBudget && <option value="">—</option>}
        {BUDGETS.map((b) => (
          <option key={b} value={b}>
            {b}
          </option>
        ))}
      </select>
      {removable && (
        <button
          type="button"
          className="ghost small-button"
          aria-label={`Remove ${settingsLabel(settings)}`}
          onClick={() => removeCompareSettings(index)}
        >
          ✕
        </button>
      )}
    </div>
  );
}

export function ComparePanel() {
  const compare = useApp((s) => s.compare);
  const runs = useApp(
    useShallow((s) => s.compare.runIds.map((id) => s.runs.find((r) => r.id === id)).filter((r) => r !== undefined)),
  );
  const image = useApp((s) => s.image);
  const grid = useApp((s) => s.info?.gridSize ?? null);
  const fit = useApp((s) => s.info?.imageFit ?? null);
  return (
    <Panel
      id="compare"
      title="Compare"
      aside={
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            data-testid="compare.toggle"
            checked={compare.enabled}
            onChange={(e) => setCompareEnabled(e.target.checked)}
          />
          <span>Compare mode</span>
        </label>
      }
    >
      {compare.enabled && (
        <div className="compare-settings">
          {compare.settings.map((s, i) => (
            <SettingsRow key={i} index={i} settings={s} removable={compare.settings.length > 2} />
          ))}
          <button type="button" className="ghost small-button" data-testid="compare.add" onClick={addCompareSettings}>
            + Add the current settings
          </button>
          <p className="small muted">
            Run (Enter) answers the same image and question with each setting, one after another.
          </p>
        </div>
      )}
      {runs.length > 0 ? (
        <div className="compare-grid" style={{ ['--cols' as string]: runs.length }} data-testid="compare.results">
          {runs.map((r) => {
            const finalLayer = r.trace ? r.trace.visualPerLayer.length - 1 : 0;
            const cost = r.trace ? costSummary(r.trace) : null;
            return (
              <article key={r.id} className="compare-col" data-testid="compare.column" data-label={r.label}>
                <header className="row">
                  <h3>{r.label}</h3>
                  <span className={`pill ${r.status}`}>{STATUS_WORDS[r.status]}</span>
                </header>
                {r.trace && image ? (
                  <button
                    type="button"
                    className="thumb-button"
                    onClick={() => selectRun(r.id)}
                    aria-label={`Show ${r.label} in the explorer`}
                  >
                    <ExplorerSvg
                      trace={r.trace}
                      image={image}
                      fit={fit}
                      modelGrid={grid}
                      layer={finalLayer}
                      size={140}
                      thumbnail
                      part={r.trace.images?.[0]}
                    />
                  </button>
                ) : (
                  <div className="thumb-placeholder" />
                )}
                <p className="answer-text small" data-testid="compare.answer">
                  {r.text || (r.status === 'done' ? '(whitespace only)' : '…')}
                </p>
                <RunMetrics run={r} prefix="compare" />
                {cost && r.trace && (
                  <p className="small" data-testid="compare.cost">
                    {r.trace.visualPerLayer[finalLayer]} tokens at the last layer · FLOPs{' '}
                    {(cost.flopsRatio * 100).toFixed(0)}% · KV {(cost.kvRatio * 100).toFixed(0)}%
                  </p>
                )}
              </article>
            );
          })}
        </div>
      ) : (
        !compare.enabled && (
          <p className="empty">
            Turn on compare mode to run none, SparseVLM 64 and FastV 64 (or any settings) on one image and question.
          </p>
        )
      )}
    </Panel>
  );
}
