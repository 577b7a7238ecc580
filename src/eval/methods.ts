/**
 * `--methods none,sparsevlm:192,fastv:64`: a method spec is a registry name (prune/registry.ts)
 * or name:budget. `none` always runs, first: retention is measured against it.
 */
import type { MethodSettings } from '../engine/protocol';

export interface MethodSpec {
  /** As written, e.g. `sparsevlm:64`: the key of every record and result row. */
  spec: string;
  settings: MethodSettings;
}

export const DEFAULT_EVAL_METHODS = 'none,sparsevlm:192,sparsevlm:128,sparsevlm:64';

export function parseMethodSpec(spec: string): MethodSpec {
  const m = /^([a-z0-9-]+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`--methods: "${spec}" is not name or name:budget (e.g. sparsevlm:64)`);
  return { spec: spec.trim(), settings: { method: m[1], ...(m[2] ? { budget: Number(m[2]) } : {}) } };
}

export function parseMethodList(list: string): MethodSpec[] {
  const specs = list
    .split(',')
    .filter((s) => s.trim())
    .map(parseMethodSpec);
  const seen = new Set<string>();
  const unique = specs.filter((s) => (seen.has(s.spec) ? false : (seen.add(s.spec), true)));
  return [unique.find((s) => s.spec === 'none') ?? parseMethodSpec('none'), ...unique.filter((s) => s.spec !== 'none')];
}
