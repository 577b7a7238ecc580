/**
 * Typed main-thread client of the engine worker: a promise per request, a token callback,
 * cancel. Errors arrive as EngineClientError carrying the worker's where/code/message.
 */
import type { AdapterInfo, EngineErrorWhere, FromWorker, GenerateOptions, LoadProgress, MethodSettings, ModelInfo, PackageSource, ToWorker } from './protocol';
import type { RequestTrace } from './trace';

export class EngineClientError extends Error {
  override readonly name = 'EngineClientError';
  constructor(readonly where: EngineErrorWhere, readonly code: string, message: string) { super(message); }
}

type Pending = {
  resolve: (m: FromWorker) => void;
  reject: (e: EngineClientError) => void;
  onEvent?: (m: FromWorker) => void;
};

export interface GenerateHandle {
  id: number;
  result: Promise<{ text: string; trace: RequestTrace; firstStepTopLogits?: { id: number; value: number }[] }>;
  cancel(): void;
}

export class EngineClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.receive(ev.data);
    worker.onerror = (ev) => {
      const err = new EngineClientError('gpu', 'worker-crashed', `The engine worker stopped: ${ev.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  /** The worker module Vite bundles (ES worker). */
  static create(): EngineClient {
    return new EngineClient(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }));
  }

  private receive(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'error') { this.pending.delete(m.id); p.reject(new EngineClientError(m.where, m.code, m.message)); }
    else if (m.type === 'ready' || m.type === 'loaded' || m.type === 'done') { this.pending.delete(m.id); p.resolve(m); }
    else p.onEvent?.(m);
  }

  private request(msg: ToWorker, onEvent?: (m: FromWorker) => void): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, onEvent });
      this.worker.postMessage(msg);
    });
  }

  async init(preferBackend?: 'webgpu' | 'wasm'): Promise<AdapterInfo> {
    const m = await this.request({ type: 'init', id: this.nextId++, preferBackend });
    return (m as Extract<FromWorker, { type: 'ready' }>).adapter;
  }

  async load(source: PackageSource, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    const m = await this.request({ type: 'load', id: this.nextId++, source }, (e) => { if (e.type === 'progress') onProgress?.(e.progress); });
    return (m as Extract<FromWorker, { type: 'loaded' }>).model;
  }

  generate(
    image: { bytes: ArrayBuffer; mime: string; name: string },
    question: string,
    settings: MethodSettings,
    options: GenerateOptions,
    onToken?: (t: { tokenId: number; text: string; elapsedMs: number }) => void,
  ): GenerateHandle {
    const id = this.nextId++;
    const result = this.request({ type: 'generate', id, image, question, settings, options }, (e) => {
      if (e.type === 'token') onToken?.({ tokenId: e.tokenId, text: e.text, elapsedMs: e.elapsedMs });
    }).then((m) => {
      const done = m as Extract<FromWorker, { type: 'done' }>;
      return { text: done.text, trace: done.trace, firstStepTopLogits: done.firstStepTopLogits };
    });
    return { id, result, cancel: () => this.worker.postMessage({ type: 'cancel', id } satisfies ToWorker) };
  }

  terminate(): void { this.worker.terminate(); }
}
