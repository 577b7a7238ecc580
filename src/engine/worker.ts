/**
 * The engine's Web Worker: ORT is loaded here (a GPU buffer cannot cross to the main thread,
 * browser-anchors.md §1.2). Implements protocol.ts: each request id gets its events and
 * exactly one `ready` / `loaded` / `done` or one `error`.
 */
/// <reference lib="webworker" />
import { Engine } from './engine';
import { asEngineError, EngineError } from './errors';
import type { EngineErrorWhere, FromWorker, ToWorker } from './protocol';
import { readerFor } from './source';

declare const self: DedicatedWorkerGlobalScope;

let engine: Promise<Engine> | null = null;
const running = new Map<number, AbortController>();
const post = (m: FromWorker) => self.postMessage(m);

function fail(id: number, e: unknown, where: EngineErrorWhere): void {
  const err = e instanceof EngineError ? e : asEngineError(e, where, where === 'gpu' ? 'gpu-unavailable' : 'run-failed');
  post({ type: 'error', id, where: err.where, code: err.code, message: err.message });
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      try {
        engine ??= Engine.create({ preferBackend: msg.preferBackend });
        post({ type: 'ready', id: msg.id, adapter: (await engine).adapter });
      } catch (e) { engine = null; fail(msg.id, e, 'gpu'); }
      return;
    }
    case 'load': {
      try {
        const eng = await (engine ??= Engine.create());
        const model = await eng.load(readerFor(msg.source), (progress) => post({ type: 'progress', id: msg.id, progress }));
        post({ type: 'loaded', id: msg.id, model });
      } catch (e) { fail(msg.id, e, 'model'); }
      return;
    }
    case 'generate': {
      const abort = new AbortController();
      running.set(msg.id, abort);
      try {
        const eng = await (engine ??= Engine.create());
        const result = await eng.generate({
          image: { bytes: new Uint8Array(msg.image.bytes), name: msg.image.name },
          question: msg.question, settings: msg.settings, options: msg.options, signal: abort.signal,
          onToken: (tokenId, text, elapsedMs) => post({ type: 'token', id: msg.id, tokenId, text, elapsedMs }),
        });
        post({ type: 'done', id: msg.id, text: result.text, trace: result.trace });
      } catch (e) { fail(msg.id, e, 'answer'); } finally { running.delete(msg.id); }
      return;
    }
    case 'cancel':
      running.get(msg.id)?.abort();
      return;
  }
}

self.onmessage = (ev: MessageEvent<ToWorker>) => { void handle(ev.data); };
