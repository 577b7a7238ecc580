/** Pruning method, budget and the method's own parameters (definitions from prune/params.ts). */
import type { ParamDef, ParamValue } from '../prune/params';
import { BUDGETS, METHODS, methodEntry, paramDefs } from '../store/methods';
import { ANSWER_LENGTHS } from '../store/runs';
import { resetParams, setBudget, setMaxNewTokens, setMethod, setParam } from '../store/settings';
import { useApp } from '../store/store';
import { Panel } from './Panel';

function ParamControl({ method, def, value }: { method: string; def: ParamDef; value: ParamValue | undefined }) {
  const id = `param-${method}-${def.name}`;
  const testid = `method.param.${def.name}`;
  if (def.kind === 'boolean') {
    const checked = (value ?? def.default) === true;
    return (
      <label className="switch" title={def.help}>
        <input type="checkbox" role="switch" data-testid={testid} checked={checked} onChange={(e) => setParam(method, def.name, e.target.checked === def.default ? null : e.target.checked)} />
        <span>{def.label}</span>
      </label>
    );
  }
  if (def.kind === 'choice') {
    return (
      <label className="field" htmlFor={id} title={def.help}>
        <span>{def.label}</span>
        <select id={id} data-testid={testid} value={String(value ?? def.default ?? '')} onChange={(e) => setParam(method, def.name, e.target.value === '' ? null : e.target.value)}>
          {def.default === null && <option value="">default</option>}
          {def.choices!.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
      </label>
    );
  }
  return (
    <label className="field" htmlFor={id} title={def.help}>
      <span>{def.label}</span>
      <input
        id={id} data-testid={testid} type="number" inputMode="decimal" min={def.min} max={def.max} step={def.kind === 'int' ? 1 : 'any'}
        placeholder={def.default === null ? 'auto' : String(def.default)} value={value === undefined ? '' : String(value)}
        onChange={(e) => {
          const v = e.target.value === '' ? null : Number(e.target.value);
          setParam(method, def.name, v === null || !Number.isFinite(v) ? null : v);
        }}
      />
    </label>
  );
}

export function MethodPanel() {
  const method = useApp((s) => s.method);
  const budget = useApp((s) => s.budget);
  const changed = useApp((s) => s.params[s.method]);
  const maxNewTokens = useApp((s) => s.maxNewTokens);
  const entry = methodEntry(method);
  const defs = paramDefs(method);
  const switches = defs.filter((d) => d.kind === 'boolean');
  const others = defs.filter((d) => d.kind !== 'boolean');
  return (
    <Panel id="method" title="Pruning">
      <label className="field" htmlFor="method-select">
        <span>Method</span>
        <select id="method-select" data-testid="method.select" value={method} onChange={(e) => setMethod(e.target.value)}>
          {METHODS.map((m) => <option key={m.name} value={m.name}>{m.label}</option>)}
        </select>
      </label>
      <p className="small muted">{entry.note}</p>
      <fieldset className="segmented" disabled={!entry.usesBudget} data-testid="method.budget">
        <legend>Budget <span className="muted small">(mean visual tokens per layer)</span></legend>
        {BUDGETS.map((b) => (
          <label key={b} className={budget === b ? 'on' : ''}>
            <input type="radio" name="budget" value={b} checked={budget === b} data-testid={`method.budget.${b}`} onChange={() => setBudget(b)} />
            <span>{b}</span>
          </label>
        ))}
      </fieldset>
      {switches.length > 0 && <div className="switches">{switches.map((d) => <ParamControl key={d.name} method={method} def={d} value={changed?.[d.name]} />)}</div>}
      {others.length > 0 && (
        <details className="params">
          <summary>Parameters{changed && Object.keys(changed).length ? ` (${Object.keys(changed).length} changed)` : ''}</summary>
          <div className="param-grid">{others.map((d) => <ParamControl key={d.name} method={method} def={d} value={changed?.[d.name]} />)}</div>
          <button type="button" className="ghost small-button" onClick={() => resetParams(method)}>Reset to defaults</button>
        </details>
      )}
      <label className="field" htmlFor="answer-length">
        <span>Answer length</span>
        <select id="answer-length" data-testid="method.max-tokens" value={maxNewTokens} onChange={(e) => setMaxNewTokens(Number(e.target.value))}>
          {ANSWER_LENGTHS.map((n) => <option key={n} value={n}>up to {n} tokens</option>)}
        </select>
      </label>
    </Panel>
  );
}
