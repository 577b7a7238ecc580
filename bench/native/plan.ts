/**
 * The plan the native reference replays (torch_reference.py --plan): LLaVA-1.5-7B dims, the
 * bench prompt's layout, and the visual tokens entering each layer for every fixed-schedule
 * method, taken from the TypeScript schedules so both sides cut at the same counts.
 * `npx tsx bench/native/writePlan.ts` rewrites bench/native/plan.json; harness.test.ts checks
 * that the committed file matches.
 */
import type { ModelDims, SequenceLayout } from '../../src/prune/method';
import { createMethod } from '../../src/prune/registry';
import { REFERENCE_MODEL_DIMS, plannedVisualCounts } from '../../src/prune/schedule';
import { parseMethodSpec } from '../args';

export const LLAVA15_7B_DIMS: ModelDims = REFERENCE_MODEL_DIMS;

/** The SparseVLM budgets the native comparison replays (plus none). */
export const NATIVE_SPECS = ['none', 'sparsevlm:192', 'sparsevlm:128', 'sparsevlm:64'];

export interface NativePlan {
  dims: ModelDims;
  vocabSize: number;
  imageTokenId: number;
  preLength: number;
  textLength: number;
  visualTokens: number;
  schedules: Record<string, number[]>;
}

/** `layout` is the bench prompt's (trace.layout of any synthetic model: they share the tokenizer). */
export function nativePlan(
  layout: Pick<SequenceLayout, 'preLength' | 'textLength'>,
  dims: ModelDims = LLAVA15_7B_DIMS,
): NativePlan {
  const schedules: Record<string, number[]> = {};
  for (const spec of NATIVE_SPECS) {
    const { settings } = parseMethodSpec(spec);
    const method = createMethod(settings.method, { budget: settings.budget }, dims);
    const counts = plannedVisualCounts(method, dims);
    if (!counts) throw new Error(`nativePlan: ${spec} has no fixed schedule`);
    schedules[spec] = counts;
  }
  return {
    dims,
    vocabSize: 32000,
    imageTokenId: 4,
    preLength: layout.preLength,
    textLength: layout.textLength,
    visualTokens: dims.visualTokens,
    schedules,
  };
}
