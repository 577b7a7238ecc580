/**
 * Methods by name (STYLE.md rule 5): `createMethod(name, { budget, params }, dims)`. An unknown
 * name throws UnknownMethodError listing the known ones; parameters are checked against
 * params.ts (unknown or out-of-range ones throw ParamError); a method with keep tables throws
 * BudgetError for a budget it has no table for. A created method serves one request at a time
 * (`begin` resets its per-request state).
 */
import type { ModelDims, PruneMethod } from './method';
import { resolveParams, type ParamValue } from './params';
import { createDivPrune } from './methods/divprune';
import { createFastV } from './methods/fastv';
import { createNone } from './methods/none';
import { createPDrop } from './methods/pdrop';
import { createSparseVlm } from './methods/sparsevlm';
import { createSparseVlmV1 } from './methods/sparsevlmV1';
import { createSparseVlmV2 } from './methods/sparsevlmV2';

export class UnknownMethodError extends Error {
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(`unknown pruning method "${requested}"; known: ${known.join(', ')}`);
    this.name = 'UnknownMethodError';
  }
}

type Factory = (budget: number | undefined, params: Record<string, ParamValue | null>, dims: ModelDims) => PruneMethod;

const METHODS: Readonly<Record<string, { factory: Factory; label: string }>> = {
  none: { factory: () => createNone(), label: 'No pruning' },
  sparsevlm: { factory: createSparseVlm, label: 'SparseVLM (v1.5, reference default)' },
  'sparsevlm-v1': { factory: createSparseVlmV1, label: 'SparseVLM v1 (rank-adaptive)' },
  'sparsevlm-v2': { factory: createSparseVlmV2, label: 'SparseVLM v2 (SparseVLM+)' },
  fastv: { factory: createFastV, label: 'FastV' },
  pdrop: { factory: createPDrop, label: 'PyramidDrop' },
  divprune: { factory: createDivPrune, label: 'DivPrune' },
};

export function knownMethods(): string[] {
  return Object.keys(METHODS);
}

export function methodLabel(name: string): string {
  const entry = METHODS[name];
  if (!entry) throw new UnknownMethodError(name, knownMethods());
  return entry.label;
}

export interface MethodOptions {
  /** 192 | 128 | 96 | 64 for the table methods (default 192); a token count for FastV/DivPrune. */
  budget?: number;
  /** Raw parameters: CLI strings or typed values (params.ts). */
  params?: Readonly<Record<string, ParamValue>>;
}

export function createMethod(name: string, options: MethodOptions, dims: ModelDims): PruneMethod {
  const entry = METHODS[name];
  if (!entry) throw new UnknownMethodError(name, knownMethods());
  return entry.factory(options.budget, resolveParams(name, options.params ?? {}), dims);
}
