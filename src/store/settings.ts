/** Method slice and ui slice actions. */
import type { ParamValue } from '../prune/params';
import { setState } from './store';
import type { UiSlice } from './types';

export function setMethod(method: string): void {
  setState({ method });
}

export function setBudget(budget: number): void {
  setState({ budget });
}

/** Set one parameter of a method; `null` returns it to its default. */
export function setParam(method: string, name: string, value: ParamValue | null): void {
  setState((s) => {
    const forMethod = { ...(s.params[method] ?? {}) };
    if (value === null) delete forMethod[name];
    else forMethod[name] = value;
    return { params: { ...s.params, [method]: forMethod } };
  });
}

export function resetParams(method: string): void {
  setState((s) => ({ params: { ...s.params, [method]: {} } }));
}

export function setMaxNewTokens(maxNewTokens: number): void {
  setState({ maxNewTokens });
}

/** Sampling options; out-of-range values are clamped to what the engine accepts (engine/options.ts). */
export function setSampling(change: Partial<{ temperature: number; topP: number; seed: number }>): void {
  setState((s) => ({
    temperature:
      change.temperature === undefined || !Number.isFinite(change.temperature)
        ? s.temperature
        : Math.min(5, Math.max(0, change.temperature)),
    topP:
      change.topP === undefined || !Number.isFinite(change.topP) ? s.topP : Math.min(1, Math.max(0.01, change.topP)),
    seed:
      change.seed === undefined || !Number.isFinite(change.seed)
        ? s.seed
        : Math.min(0xffffffff, Math.max(0, Math.round(change.seed))),
  }));
}

export function setLayer(layer: number): void {
  setState({ layer: Math.max(0, Math.round(layer)) });
}

export function setTheme(theme: UiSlice['theme']): void {
  setState({ theme });
}
