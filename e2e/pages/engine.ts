/**
 * Test page API for e2e/engine.spec.ts: the app's own engine worker (src/engine/worker.ts,
 * through the typed EngineClient), loading a package by URL from this origin and answering one
 * question greedily. What comes back is what the worker posted: no stand-ins.
 */
import { EngineClient } from '../../src/engine/client';
import type { AdapterInfo, ModelInfo } from '../../src/engine/protocol';

export interface GoldenRun {
  adapter: AdapterInfo;
  model: ModelInfo;
  /** Worker start + ORT import + adapter. */
  initMs: number;
  loadMs: number;
  loadGaps: Record<string, number>;
  inputIds: number[];
  tokenIds: number[];
  streamed: number[];
  firstStepTopLogits: { id: number; value: number }[];
  timings: { prefillMs: number; decodeStepMs: number[]; totalMs: number };
}

const api = {
  /** Fresh worker, init, load `packageUrl`, ask about the image (bytes as base64), greedy. */
  async run(packageUrl: string, imageBase64: string, question: string, maxNewTokens: number): Promise<GoldenRun> {
    const client = EngineClient.create();
    try {
      const tInit = performance.now();
      const adapter = await client.init();
      const initMs = performance.now() - tInit;
      const t0 = performance.now();
      // ms from the previous progress event to the first event of each phase:file (where load time goes).
      const phases: Record<string, number> = {};
      let last = performance.now();
      const model = await client.load({ kind: 'url', url: packageUrl }, (p) => {
        const now = performance.now();
        const key = `${p.phase}:${p.file ?? ''}`;
        if (!(key in phases)) phases[key] = Math.round(now - last);
        last = now;
      });
      const loadMs = performance.now() - t0;
      const bytes = Uint8Array.from(atob(imageBase64), (c) => c.charCodeAt(0));
      const streamed: number[] = [];
      const handle = client.generate(
        { bytes: bytes.buffer, mime: 'image/png', name: 'image.png' },
        question,
        { method: 'none' },
        { maxNewTokens, temperature: 0, topP: 1, seed: 0 },
        (t) => streamed.push(t.tokenId),
      );
      const { trace, firstStepTopLogits } = await handle.result;
      return {
        adapter,
        model,
        initMs,
        loadMs,
        loadGaps: phases,
        inputIds: trace.inputIds,
        tokenIds: trace.generatedIds,
        streamed,
        firstStepTopLogits: firstStepTopLogits ?? [],
        timings: {
          prefillMs: trace.timings.prefillMs,
          decodeStepMs: trace.timings.decodeStepMs,
          totalMs: trace.timings.totalMs,
        },
      };
    } finally {
      client.terminate();
    }
  },
};

declare global {
  interface Window {
    engineTest: typeof api;
  }
}
window.engineTest = api;
