/**
 * From the record log to the two result documents:
 *  - `results.json` — the scored content: per method its scores (the benchmark's own metric),
 *    retention against `none`, the deterministic cost figures (FLOPs, visual tokens) and every
 *    item's record (id, answer, prediction, label, score, or the skip reason), in dataset order.
 *    It depends only on the model, data, methods and options, so a run killed and resumed ends
 *    with a byte-identical file to an uninterrupted one (the resume test checks exactly that).
 *  - `speed.json` — the timing figures of the same requests (prefill, time to first token,
 *    decode tokens/s: medians over the scored items, with the ratio to `none`). Timings differ
 *    from run to run, and a resumed run mixes two sessions' timings: this file says how many
 *    of its requests came from each session.
 */
import type { MethodSpec } from './methods';
import { recordKey } from './records';
import type { EvalFormat, EvalItem, FormatScores, ItemRecord } from './types';

export interface RunHeader {
  format: string;
  data: string;
  model: string;
  suffix: string;
  maxNewTokens: number;
  items: number;
}

export interface MethodResult {
  method: string;
  settings: MethodSpec['settings'];
  scores: FormatScores;
  /** headline / none's headline; null when none has no score. */
  retention: number | null;
  cost: {
    flops: number | null;
    flopsUnpruned: number | null;
    visualTokensLast: number | null;
    equalTokens: number | null;
  };
  records: Omit<ItemRecord, 'speed' | 'method'>[];
}

export interface EvalResults extends RunHeader {
  kind: 'sparsevlm-eval';
  version: 1;
  methods: MethodResult[];
}

export interface MethodSpeed {
  method: string;
  requests: number;
  prefillMs: number | null;
  firstTokenMs: number | null;
  tokensPerS: number | null;
  /** Ratios to none's medians (null where either is missing). */
  prefillRatio: number | null;
  firstTokenRatio: number | null;
  tokensPerSRatio: number | null;
}

export interface EvalSpeed {
  kind: 'sparsevlm-eval-speed';
  version: 1;
  /** Where the timings were taken (backend, adapter), as the caller describes it. */
  machine: string;
  methods: MethodSpeed[];
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Records of one method in dataset order (items without a record yet are left out). */
function recordsOf(items: EvalItem[], byKey: Map<string, ItemRecord>, method: string): ItemRecord[] {
  return items.map((it) => byKey.get(recordKey(method, it.id))).filter((r): r is ItemRecord => r !== undefined);
}

export function buildResults(
  header: RunHeader,
  format: EvalFormat,
  items: EvalItem[],
  methods: MethodSpec[],
  records: ItemRecord[],
): EvalResults {
  const byKey = new Map(records.map((r) => [recordKey(r.method, r.id), r]));
  const rows = methods.map((m) => {
    const own = recordsOf(items, byKey, m.spec);
    const speeds = own.flatMap((r) => (r.speed ? [r.speed] : []));
    return {
      method: m.spec,
      settings: m.settings,
      scores: format.summarise(own),
      cost: {
        flops: median(speeds.map((s) => s.flops)),
        flopsUnpruned: median(speeds.map((s) => s.flopsUnpruned)),
        visualTokensLast: median(speeds.map((s) => s.visualTokensLast)),
        equalTokens: median(speeds.map((s) => s.equalTokens)),
      },
      records: own.map(({ speed: _speed, method: _method, ...rest }) => rest),
    };
  });
  const none = rows.find((r) => r.method === 'none');
  const base = none && none.scores.scored > 0 && none.scores.headline > 0 ? none.scores.headline : null;
  return {
    kind: 'sparsevlm-eval',
    version: 1,
    ...header,
    methods: rows.map((r) => ({
      ...r,
      retention: base === null || r.scores.scored === 0 ? null : r.scores.headline / base,
    })),
  };
}

export function buildSpeed(machine: string, methods: MethodSpec[], records: ItemRecord[]): EvalSpeed {
  const rows = methods.map((m) => {
    const speeds = records.filter((r) => r.method === m.spec && r.speed).map((r) => r.speed!);
    return {
      method: m.spec,
      requests: speeds.length,
      prefillMs: median(speeds.map((s) => s.prefillMs)),
      firstTokenMs: median(speeds.map((s) => s.firstTokenMs)),
      tokensPerS: median(speeds.flatMap((s) => (s.tokensPerS === null ? [] : [s.tokensPerS]))),
    };
  });
  const none = rows.find((r) => r.method === 'none');
  const ratio = (a: number | null, b: number | null | undefined) => (a !== null && b ? a / b : null);
  return {
    kind: 'sparsevlm-eval-speed',
    version: 1,
    machine,
    methods: rows.map((r) => ({
      ...r,
      prefillRatio: ratio(r.prefillMs, none?.prefillMs),
      firstTokenRatio: ratio(r.firstTokenMs, none?.firstTokenMs),
      tokensPerSRatio: ratio(r.tokensPerS, none?.tokensPerS),
    })),
  };
}

/** Canonical JSON text of a results document (2-space indent, trailing newline). */
export const resultsText = (doc: EvalResults | EvalSpeed) => `${JSON.stringify(doc, null, 2)}\n`;
