/**
 * `--methods none,sparsevlm:192,fastv:64`: a method spec is a registry name (prune/registry.ts),
 * optionally with :budget and +param=value. `none` always runs, first: retention is measured
 * against it.
 */
import type { MethodSettings } from '../engine/protocol';

export interface MethodSpec {
  /** As written, e.g. `sparsevlm:64`: the key of every record and result row. */
  spec: string;
  settings: MethodSettings;
}

export const DEFAULT_EVAL_METHODS = 'none,sparsevlm:192,sparsevlm:128,sparsevlm:64';

/** A method spec that is not `name`, `name:budget` or either with `+param=value` pairs. */
export class MethodSpecError extends Error {
  constructor(readonly spec: string) {
    super(`--methods: "${spec}" is not name or name:budget (e.g. sparsevlm:64)`);
    this.name = 'MethodSpecError';
  }
}

/**
 * `name`, `name:budget`, either followed by `+param=value` pairs (params.ts names, e.g.
 * `sparsevlm-v1+schedule=video`); the spec as written is the row's key. The benchmark's
 * `--methods` reads the same grammar (bench/args.ts).
 */
export function parseMethodSpec(spec: string): MethodSpec {
  const m = /^([a-z0-9-]+)(?::(\d+))?((?:\+[A-Za-z][A-Za-z0-9]*=[^+,\s]+)*)$/.exec(spec.trim());
  if (!m) throw new MethodSpecError(spec);
  const params = Object.fromEntries(
    m[3]
      .split('+')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
  return {
    spec: spec.trim(),
    settings: {
      method: m[1],
      ...(m[2] ? { budget: Number(m[2]) } : {}),
      ...(m[3] ? { params } : {}),
    },
  };
}

/** `none` always runs (every ratio is against it) and comes first; repeats are dropped. */
export function parseMethodList(list: string): MethodSpec[] {
  const specs = list
    .split(',')
    .filter((s) => s.trim())
    .map(parseMethodSpec);
  const seen = new Set<string>();
  const unique = specs.filter((s) => (seen.has(s.spec) ? false : (seen.add(s.spec), true)));
  return [unique.find((s) => s.spec === 'none') ?? parseMethodSpec('none'), ...unique.filter((s) => s.spec !== 'none')];
}
