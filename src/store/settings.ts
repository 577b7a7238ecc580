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

export function setLayer(layer: number): void {
  setState({ layer: Math.max(0, Math.round(layer)) });
}

export function setTheme(theme: UiSlice['theme']): void {
  setState({ theme });
}
