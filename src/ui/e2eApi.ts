/**
 * A typed, read-only in-page API for the Playwright suite (tldraw's pattern), installed only
 * when the page is opened with `?e2e`. Specs read facts from the store instead of pixels.
 */
import type { RequestTrace } from '../common/trace';
import { newRequestId, send } from '../store/engine';
import { getState } from '../store/store';
import { patchFates, tokensAtLayer } from './charts/fates';

export interface E2eApi {
  status(): string;
  currentRun(): {
    id: number;
    status: string;
    text: string;
    tokenCount: number;
    method: string;
    hasTrace: boolean;
  } | null;
  /** Visual tokens entering `layer` in the current run's trace. */
  tokensAt(layer: number): number | null;
  /** Counts of kept / merged / dropped patches at `layer`. */
  fateCounts(layer: number): Record<string, number> | null;
  stageLayers(): number[];
  raters(): number[] | null;
  cost(): { flops: number; flopsUnpruned: number; kvBytes: number; kvBytesUnpruned: number } | null;
  /** Fault injection: asks the engine worker to destroy its GPUDevice (protocol 'lose-device'). */
  loseDevice(): void;
  /** Name of the loaded model, null when none. */
  modelName(): string | null;
  /** The current run's trace as the engine sent it (structured-clone data), null without one. */
  trace(): RequestTrace | null;
}

function currentTrace() {
  const s = getState();
  return s.runs.find((r) => r.id === s.currentRunId)?.trace ?? null;
}

export const e2eApi: E2eApi = {
  status: () => getState().status,
  currentRun: () => {
    const s = getState();
    const r = s.runs.find((x) => x.id === s.currentRunId);
    return r
      ? {
          id: r.id,
          status: r.status,
          text: r.text,
          tokenCount: r.tokenCount,
          method: r.settings.method,
          hasTrace: r.trace !== null,
        }
      : null;
  },
  tokensAt: (layer) => {
    const t = currentTrace();
    return t ? tokensAtLayer(t, layer).length : null;
  },
  fateCounts: (layer) => {
    const t = currentTrace();
    if (!t) return null;
    const counts: Record<string, number> = { kept: 0, merged: 0, dropped: 0 };
    for (const f of patchFates(t, layer)) counts[f.state]++;
    return counts;
  },
  stageLayers: () => currentTrace()?.stages.map((s) => s.layer) ?? [],
  raters: () => currentTrace()?.raters?.raters ?? null,
  cost: () => {
    const t = currentTrace();
    return t
      ? {
          flops: t.cost.flops,
          flopsUnpruned: t.cost.flopsUnpruned,
          kvBytes: t.cost.kvBytesPerLayer.reduce((a, b) => a + b, 0),
          kvBytesUnpruned: t.cost.kvBytesUnpruned,
        }
      : null;
  },
  loseDevice: () => send({ type: 'lose-device', id: newRequestId() }),
  modelName: () => getState().info?.name ?? null,
  trace: () => currentTrace(),
};

declare global {
  interface Window {
    __e2e?: E2eApi;
  }
}

export function installE2eApi(): void {
  if (new URLSearchParams(location.search).has('e2e')) window.__e2e = e2eApi;
}
