/**
 * The bench page: the app's worker engine (through EngineClient) behind `window.bench`, which
 * Playwright drives (bench/browser.ts). Each generate also reads the worker's GPU byte counter.
 */
import { EngineClient } from '../../src/engine/client';
import type { AdapterInfo, MethodSettings, ModelInfo } from '../../src/engine/protocol';
import type { RequestTrace } from '../../src/engine/trace';

export interface BenchPageApi {
  init(): Promise<AdapterInfo>;
  load(url: string): Promise<{ model: ModelInfo; loadMs: number }>;
  generate(settings: MethodSettings, question: string, newTokens: number): Promise<{ trace: RequestTrace; peakGpuBytes: number | null }>;
}

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const client = new EngineClient(worker);
let image: ArrayBuffer | null = null;

function memory(reset: boolean): Promise<{ live: number | null; peak: number | null }> {
  return new Promise((resolve) => {
    const listen = (ev: MessageEvent<{ type?: string; live: number | null; peak: number | null }>) => {
      if (ev.data?.type !== 'bench-memory') return;
      worker.removeEventListener('message', listen);
      resolve(ev.data);
    };
    worker.addEventListener('message', listen);
    worker.postMessage({ type: 'bench-memory', reset });
  });
}

const api: BenchPageApi = {
  init: () => client.init('webgpu'),
  async load(url) {
    image = await (await fetch('/samples/shapes.png')).arrayBuffer();
    const t0 = performance.now();
    const model = await client.load({ kind: 'url', url });
    return { model, loadMs: performance.now() - t0 };
  },
  async generate(settings, question, newTokens) {
    await memory(true);
    const { trace } = await client.generate(
      { bytes: image!.slice(0), mime: 'image/png', name: 'shapes.png' }, question, settings,
      { maxNewTokens: newTokens, temperature: 0, topP: 1, seed: 0 },
    ).result;
    return { trace, peakGpuBytes: (await memory(false)).peak };
  },
};

(window as unknown as { bench: BenchPageApi }).bench = api;
document.querySelector('[data-testid="bench.status"]')!.textContent = 'bench page ready';
