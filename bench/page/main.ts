/**
 * The bench page: the app's worker engine (through EngineClient) behind `window.bench`, which
 * Playwright drives (bench/browser.ts). Each generate also reads the worker's GPU byte counter.
 * `split` ends the engine worker, then measures the split cost in a worker of its own (split.ts).
 */
import { EngineClient, workerLink } from '../../src/engine/client';
import type { AdapterInfo, MethodSettings, ModelInfo } from '../../src/engine/protocol';
import type { RequestTrace } from '../../src/common/trace';
import type { MergedComparison, NotMeasured } from '../result';
import type { SplitRequest } from './split';

export interface BenchPageApi {
  init(backend: 'webgpu' | 'wasm'): Promise<AdapterInfo & { crossOriginIsolated: boolean }>;
  load(url: string): Promise<{ model: ModelInfo; loadMs: number }>;
  generate(
    settings: MethodSettings,
    question: string,
    newTokens: number,
  ): Promise<{ trace: RequestTrace; peakGpuBytes: number | null }>;
  split(request: SplitRequest): Promise<MergedComparison | NotMeasured>;
}

let worker: Worker | null = null;
let client: EngineClient | null = null;
let image: ArrayBuffer | null = null;

function memory(reset: boolean): Promise<{ live: number | null; peak: number | null }> {
  return new Promise((resolve) => {
    const listen = (ev: MessageEvent<{ type?: string; live: number | null; peak: number | null }>) => {
      if (ev.data?.type !== 'bench-memory') return;
      worker!.removeEventListener('message', listen);
      resolve(ev.data);
    };
    worker!.addEventListener('message', listen);
    worker!.postMessage({ type: 'bench-memory', reset });
  });
}

const api: BenchPageApi = {
  async init(backend) {
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    client = new EngineClient(workerLink(() => worker!));
    return { ...(await client.init(backend)), crossOriginIsolated };
  },
  async load(url) {
    image = await (await fetch('/bench-image/shapes.png')).arrayBuffer();
    const t0 = performance.now();
    const model = await client!.load({ kind: 'url', url });
    return { model, loadMs: performance.now() - t0 };
  },
  async generate(settings, question, newTokens) {
    await memory(true);
    const { trace } = await client!.generate(
      { bytes: image!.slice(0), mime: 'image/png', name: 'shapes.png' },
      question,
      settings,
      { maxNewTokens: newTokens, temperature: 0, topP: 1, seed: 0, reuseVision: false },
    ).result;
    return { trace, peakGpuBytes: (await memory(false)).peak };
  },
  split(request) {
    worker?.terminate(); // its device and sessions go with it
    worker = null;
    client = null;
    const w = new Worker(new URL('./split.ts', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      w.addEventListener(
        'message',
        (
          ev: MessageEvent<{ type: string; line?: string; result?: MergedComparison | NotMeasured; message?: string }>,
        ) => {
          if (ev.data.type === 'log') console.log(`split: ${ev.data.line}`);
          else if (ev.data.type === 'done') {
            w.terminate();
            resolve(ev.data.result!);
          } else {
            w.terminate();
            reject(new Error(ev.data.message));
          }
        },
      );
      w.postMessage(request);
    });
  },
};

(window as unknown as { bench: BenchPageApi }).bench = api;
document.querySelector('[data-testid="bench.status"]')!.textContent = 'bench page ready';
