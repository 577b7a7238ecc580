/**
 * Method names, labels and the settings a run sends. Names are the prune registry's; the
 * parameter definitions come from prune/params.ts (pure data, shared with the CLI).
 */
import type { MethodSettings } from '../engine/protocol';
import { METHOD_PARAMS, type ParamDef, type ParamValue } from '../prune/params';
import {
  PDROP_STAGE_LAYERS,
  SPARSEVLM_STAGE_LAYERS,
  SPARSEVLM_V1_STAGE_LAYERS,
  scaleStageLayers,
} from '../prune/schedule';

export interface MethodEntry {
  name: string;
  label: string;
  short: string;
  usesBudget: boolean;
  note: string;
}

export const METHODS: readonly MethodEntry[] = [
  {
    name: 'none',
    label: 'None (full 576 tokens)',
    short: 'None',
    usesBudget: false,
    note: 'Every visual token through every layer: the baseline.',
  },
  {
    name: 'sparsevlm',
    label: 'SparseVLM v1.5',
    short: 'SparseVLM',
    usesBudget: true,
    note: 'Text raters score visual tokens at layers 2, 6 and 15; keep tables per budget; pruned tokens recycled into merged ones.',
  },
  {
    name: 'sparsevlm-v1',
    label: 'SparseVLM v1 (rank-adaptive)',
    short: 'SparseVLM v1',
    usesBudget: true,
    note: 'Keeps a count set by the rank of the rater × visual attention block, at layers 2, 6, 15 and 19.',
  },
  {
    name: 'sparsevlm-v2',
    label: 'SparseVLM v2 (SparseVLM+)',
    short: 'SparseVLM v2',
    usesBudget: true,
    note: 'Gravity-corrected attention from the top heads; survivors keep their original positions; no recycling.',
  },
  {
    name: 'fastv',
    label: 'FastV',
    short: 'FastV',
    usesBudget: true,
    note: 'At layer K, keeps the visual tokens the last prompt token attends to most.',
  },
  {
    name: 'pdrop',
    label: 'PyramidDrop',
    short: 'PDrop',
    usesBudget: false,
    note: 'Before layers 8, 16 and 24, keeps λ, λ², λ³ of the visual tokens by last-instruction attention.',
  },
  {
    name: 'divprune',
    label: 'DivPrune',
    short: 'DivPrune',
    usesBudget: true,
    note: 'Before layer 0, keeps a maximally diverse subset of the projector outputs.',
  },
];

export const BUDGETS = [192, 128, 96, 64] as const;

/** The loaded model's shape, for labels that name layers and token counts. */
export interface ModelShape {
  numLayers: number;
  visualTokens: number;
}

/** "2, 6 and 15" */
const andList = (xs: number[]) =>
  xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

/**
 * A method's entry in the loaded model's numbers: the reference's stage layers scaled to its
 * depth (prune/schedule.ts, as the methods do) and its own visual-token count, so a 24-layer,
 * 729-token model is not described with LLaVA-1.5's "layers 2, 6 and 15" and "576 tokens".
 */
export function methodEntry(name: string, model?: ModelShape | null): MethodEntry {
  const entry = METHODS.find((m) => m.name === name) ?? { name, label: name, short: name, usesBudget: false, note: '' };
  if (!model) return entry;
  const at = (layers: readonly number[]) => andList(scaleStageLayers(layers, model.numLayers));
  const before = (layers: readonly number[]) => andList(scaleStageLayers(layers, model.numLayers).map((l) => l + 1));
  switch (name) {
    case 'none':
      return { ...entry, label: `None (all ${model.visualTokens} tokens)` };
    case 'sparsevlm':
      return {
        ...entry,
        note: `Text raters score visual tokens after layers ${at(SPARSEVLM_STAGE_LAYERS)}; keep tables per budget; pruned tokens recycled into merged ones.`,
      };
    case 'sparsevlm-v1':
      return {
        ...entry,
        note: `Keeps a count set by the rank of the rater × visual attention block, after layers ${at(SPARSEVLM_V1_STAGE_LAYERS)}.`,
      };
    case 'pdrop':
      return {
        ...entry,
        note: `Before layers ${before(PDROP_STAGE_LAYERS)}, keeps λ, λ², λ³ of the visual tokens by last-instruction attention.`,
      };
    default:
      return entry;
  }
}

export function paramDefs(method: string): readonly ParamDef[] {
  return METHOD_PARAMS[method] ?? [];
}

/** The settings a run sends: budget only where the method reads it, params only as changed. */
export function buildSettings(
  method: string,
  budget: number,
  changed: Record<string, ParamValue> | undefined,
): MethodSettings {
  const entry = methodEntry(method);
  const settings: MethodSettings = { method };
  if (entry.usesBudget) settings.budget = budget;
  if (changed && Object.keys(changed).length > 0) settings.params = { ...changed };
  return settings;
}

/** "SparseVLM 64", "FastV 64 · K=3", "None". */
export function settingsLabel(settings: MethodSettings): string {
  const entry = methodEntry(settings.method);
  const parts = [entry.short + (entry.usesBudget && settings.budget !== undefined ? ` ${settings.budget}` : '')];
  for (const [k, v] of Object.entries(settings.params ?? {})) parts.push(`${k}=${String(v)}`);
  return parts.join(' · ');
}

/** Stable key of settings for run caching (sorted params). */
export function settingsKey(settings: MethodSettings): string {
  const params = Object.entries(settings.params ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([settings.method, settings.budget ?? null, params]);
}
