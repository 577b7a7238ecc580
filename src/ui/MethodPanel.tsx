/** Pruning method, budget and the method's own parameters (definitions from prune/params.ts). */
import type { ParamDef, ParamValue } from '../prune/params';
import { BUDGETS, METHODS, methodEntry, paramDefs } from '../store/methods';
import { ANSWER_LENGTHS } from '../store/runs';
import { resetParams, setBudget, setMaxNewTokens, setMethod, setParam, setSampling } from '../store/settings';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../store/store';
import { Panel } from './Panel';

function ParamControl({ method, def, value }: { method: string; def: ParamDef; value: ParamValue | undefined }) {
  const id = `param-${method}-${def.name}`;
  const testid = `method.param.${def.name}`;
  if (def.kind === 'boolean') {
    const checked = (value ?? def.default) === true;
    return (
      <label className="switch" title={def.help}>
        <input
          type="checkbox"
          role="switch"
          data-testid={testid}
          checked={checked}
          onChange={(e) => setParam(method, def.name, e.target.checked === def.default ? null : e.target.checked)}
        />
        <span>{def.label}</span>
      </label>
    );
  }
  if (def.kind === 'choice') {
    return (
      <label className="field" htmlFor={id} title={def.help}>
        <span>{def.label}</span>
        <select
          id={id}
          data-testid={testid}
          value={String(value ?? def.default ?? '')}
          onChange={(e) => setParam(method, def.name, e.target.value === '' ? null : e.target.value)}
        >
          {def.default === null && <option value="">default</option>}
          {def.choices!.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <label className="field" htmlFor={id} title={def.help}>
      <span>{def.label}</span>
      <input
        id={id}
        data-testid={testid}
        type="number"
        inputMode="decimal"
        min={def.min}
        max={def.max}
        step={def.kind === 'int' ? 1 : 'any'}
        placeholder={def.default === null ? 'auto' : String(def.default)}
        value={value === undefined ? '' : String(value)}
        onChange={(e) => {
          const v = e.target.value === '' ? null : Number(e.target.value);
          setParam(method, def.name, v === null || !Number.isFinite(v) ? null : v);
        }}
      />
    </label>
  );
}

/** Temperature, top-p and seed, as the CLI's --temperature / --top-p / --seed (0 = greedy, the reference's setting). */
function Sampling() {
  const temperature = useApp((s) => s.temperature);
  const topP = useApp((s) => s.topP);
  const seed = useApp((s) => s.seed);
  const greedy = temperature === 0;
  return (
    <details className="params" data-testid="method.sampling">
      <summary>Sampling: {greedy ? 'greedy' : `temperature ${temperature}, top-p ${topP}, seed ${seed}`}</summary>
      <div className="param-grid">
        <label
          className="field"
          htmlFor="sampling-temperature"
          title="0 picks the most likely token every step (greedy, deterministic); higher values sample more freely."
        >
          <span>Temperature</span>
          <input
            id="sampling-temperature"
            data-testid="method.temperature"
            type="number"
            min={0}
            max={5}
            step={0.1}
            value={temperature}
            onChange={(e) => setSampling({ temperature: Number(e.target.value) })}
          />
        </label>
        <label
          className="field"
          htmlFor="sampling-top-p"
          title="Sample only from the most likely tokens whose probabilities add up to this share."
        >
          <span>Top-p</span>
          <input
            id="sampling-top-p"
            data-testid="method.top-p"
            type="number"
            min={0.01}
            max={1}
            step={0.05}
            value={topP}
            disabled={greedy}
            onChange={(e) => setSampling({ topP: Number(e.target.value) })}
          />
        </label>
        <label className="field" htmlFor="sampling-seed" title="The same seed gives the same answer.">
          <span>Seed</span>
          <input
            id="sampling-seed"
            data-testid="method.seed"
            type="number"
            min={0}
            step={1}
            value={seed}
            disabled={greedy}
            onChange={(e) => setSampling({ seed: Number(e.target.value) })}
          />
        </label>
      </div>
      <p className="small muted">The reference prunes under greedy decoding; here pruning runs under any sampling.</p>
    </details>
  );
}

export function MethodPanel() {
  const method = useApp((s) => s.method);
  const budget = useApp((s) => s.budget);
  const changed = useApp((s) => s.params[s.method]);
  const maxNewTokens = useApp((s) => s.maxNewTokens);
  const shape = useApp(
    useShallow((s) => (s.info ? { numLayers: s.info.numLayers, visualTokens: s.info.visualTokens } : null)),
  );
  const entry = methodEntry(method, shape);
  const defs = paramDefs(method);
  const switches = defs.filter((d) => d.kind === 'boolean');
  const others = defs.filter((d) => d.kind !== 'boolean');
  return (
    <Panel id="method" title="Pruning">
      <label className="field" htmlFor="method-select">
        <span>Method</span>
        <select
          id="method-select"
          data-testid="method.select"
          value={method}
          onChange={(e) => setMethod(e.target.value)}
        >
          {METHODS.map((m) => (
            <option key={m.name} value={m.name}>
              {methodEntry(m.name, shape).label}
            </option>
          ))}
        </select>
      </label>
      <p className="small muted">{entry.note}</p>
      <fieldset className="segmented" disabled={!entry.usesBudget} data-testid="method.budget">
        <legend>
          Budget <span className="muted small">(mean visual tokens per layer)</span>
        </legend>
        {BUDGETS.map((b) => (
          <label key={b} className={budget === b ? 'on' : ''}>
            <input
              type="radio"
              name="budget"
              value={b}
              checked={budget === b}
              data-testid={`method.budget.${b}`}
              onChange={() => setBudget(b)}
            />
            <span>{b}</span>
          </label>
        ))}
      </fieldset>
      {switches.length > 0 && (
        <div className="switches">
          {switches.map((d) => (
            <ParamControl key={d.name} method={method} def={d} value={changed?.[d.name]} />
          ))}
        </div>
      )}
      {others.length > 0 && (
        <details className="params">
          <summary>
            Parameters{changed && Object.keys(changed).length ? ` (${Object.keys(changed).length} changed)` : ''}
          </summary>
          <div className="param-grid">
            {others.map((d) => (
              <ParamControl key={d.name} method={method} def={d} value={changed?.[d.name]} />
            ))}
          </div>
          <button type="button" className="ghost small-button" onClick={() => resetParams(method)}>
            Reset to defaults
          </button>
        </details>
      )}
      <Sampling />
      <label className="field" htmlFor="answer-length">
        <span>Answer length</span>
        <select
          id="answer-length"
          data-testid="method.max-tokens"
          value={maxNewTokens}
          onChange={(e) => setMaxNewTokens(Number(e.target.value))}
        >
          {ANSWER_LENGTHS.map((n) => (
            <option key={n} value={n}>
              up to {n} tokens
            </option>
          ))}
        </select>
      </label>
    </Panel>
  );
}
