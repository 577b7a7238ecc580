/**
 * The engine's Web Worker: ORT is loaded here (a GPU buffer cannot cross to the main thread,
 * browser-anchors.md §1.2). Implements protocol.ts: each request id gets its events and
 * exactly one `ready` / `loaded` / `done` or one `error`.
 *
 * Device loss: the engine's GPU door reports `device.lost` through `engine.onGpuFault`; the
 * worker posts `device-lost` once and answers every later request with a `where: 'gpu'` error.
 * It does not try to recover in place (ORT keeps its one device per realm): the app replaces
 * the whole worker (store/engine.ts `restartEngine`). Only device loss uses `where: 'gpu'`.
 */
/// <reference lib="webworker" />
// ORT's wasm from our own origin (Vite emits it as an asset; in dev it is served from
// node_modules). Without this, transformers.js points ORT at cdn.jsdelivr.net. The webgpu
// bundle carries its .mjs inline, so only the .wasm needs a URL.
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { Engine } from './engine';
import { asEngineError } from './errors';
import type { FromWorker, ModelInfo, ToWorker } from './protocol';
import { readerFor } from '../package/source';
import type { EngineErrorWhere } from '../common/errors';
import { EngineError } from '../common/errors';

declare const self: DedicatedWorkerGlobalScope;

let engine: Promise<Engine> | null = null;
const running = new Map<number, AbortController>();
/** Set once the device is gone (by the test hook or by the driver); the worker is finished then. */
let lost: { message: string } | null = null;
const post = (message: FromWorker) => self.postMessage(message);
/** The loaded model as the app hears of it. */
const infoOf = (eng: Engine | null): ModelInfo | null => eng?.info ?? null;

function engineFor(preferBackend?: 'webgpu' | 'wasm'): Promise<Engine> {
  engine ??= Engine.create({ preferBackend, wasmPaths: { wasm: new URL(ortWasmUrl, self.location.href).href } }).then(
    (eng) => {
      eng.onGpuFault = (fault) => {
        if (fault.kind === 'lost') deviceLost(fault.reason === 'destroyed' ? 'destroyed' : 'unknown', fault.message);
        else console.warn('engine worker: uncaptured GPU error:', fault.message);
      };
      return eng;
    },
  );
  return engine;
}

/** Post `device-lost` once, naming the request it interrupted (or 0). */
function deviceLost(reason: 'destroyed' | 'unknown', message: string): void {
  if (lost) return;
  lost = { message: message || 'The GPU device was lost.' };
  const interrupted = [...running.keys()][0] ?? 0;
  post({ type: 'device-lost', id: interrupted, reason, message: lost.message });
}

/**
 * One protocol error. After a device loss every failure is reported as a GPU failure (the
 * app recovers on it); otherwise a 'gpu' from inside the engine is re-homed to where the
 * request came from, so no ordinary failure triggers device-loss recovery.
 */
function fail(
  id: number,
  thrown: unknown,
  where: Exclude<EngineErrorWhere, 'gpu'>,
  extra: { loaded?: ModelInfo | null } = {},
): void {
  const err = thrown instanceof EngineError ? thrown : asEngineError(thrown, where, 'run-failed');
  if (err.code === 'cancelled') {
    post({ type: 'error', id, where: err.where, code: err.code, message: err.message, ...extra });
  } else if (lost) {
    post({
      type: 'error',
      id,
      where: 'gpu',
      code: 'gpu-unavailable',
      message: `The GPU device was lost (${lost.message}); the request could not finish.`,
    });
  } else {
    post({
      type: 'error',
      id,
      where: err.where === 'gpu' ? where : err.where,
      code: err.code,
      message: err.message,
      ...extra,
    });
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      try {
        post({ type: 'ready', id: msg.id, adapter: (await engineFor(msg.preferBackend)).adapter });
      } catch (e) {
        engine = null;
        fail(msg.id, e, 'model');
      }
      return;
    }
    case 'load': {
      try {
        const eng = await engineFor();
        const model = await eng.load(readerFor(msg.source), (progress) =>
          post({ type: 'progress', id: msg.id, progress }),
        );
        post({ type: 'loaded', id: msg.id, model });
      } catch (e) {
        // Whether the previous model survived (refused before release) or not, the app hears it.
        const eng = engine ? await engine.catch(() => null) : null;
        fail(msg.id, e, 'model', { loaded: infoOf(eng) });
      }
      return;
    }
    case 'generate': {
      const abort = new AbortController();
      running.set(msg.id, abort);
      try {
        const eng = await engineFor();
        const result = await eng.generate({
          image: { bytes: new Uint8Array(msg.image.bytes), name: msg.image.name },
          images: msg.images?.map((im) => ({
            bytes: new Uint8Array(im.bytes),
            name: im.name,
            ...(im.frame ? { frame: im.frame } : {}),
          })),
          question: msg.question,
          ...(msg.history ? { history: msg.history } : {}),
          ...(msg.conversation !== undefined ? { conversation: msg.conversation } : {}),
          keepConversation: msg.keepConversation,
          settings: msg.settings,
          options: msg.options,
          signal: abort.signal,
          onToken: (tokenId, text, elapsedMs) => post({ type: 'token', id: msg.id, tokenId, text, elapsedMs }),
        });
        post({
          type: 'done',
          id: msg.id,
          text: result.text,
          trace: result.trace,
          firstStepTopLogits: result.firstStepTopLogits,
          ...(result.conversation ? { conversation: result.conversation } : {}),
        });
      } catch (e) {
        fail(msg.id, e, 'answer');
      } finally {
        running.delete(msg.id);
      }
      return;
    }
    case 'cancel':
      running.get(msg.id)?.abort();
      return;
    case 'lose-device': {
      // Test hook: destroy ORT's device as a driver reset would; `device.lost` then resolves
      // with reason 'destroyed' and the door's listener posts `device-lost`.
      const device = engine ? ((await engine.catch(() => null))?.rt.device() ?? null) : null;
      if (!device) {
        post({
          type: 'error',
          id: msg.id,
          where: 'model',
          code: 'gpu-unavailable',
          message: 'There is no GPU device to lose: no model is loaded on WebGPU.',
        });
        return;
      }
      // Before destroy(): ORT's in-flight work fails at once, and its error must read as a loss.
      lost ??= { message: 'The GPU device was destroyed (lose-device test hook).' };
      const interrupted = [...running.keys()][0] ?? 0;
      device.destroy();
      post({ type: 'device-lost', id: interrupted, reason: 'destroyed', message: lost.message });
      return;
    }
  }
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  void handle(ev.data);
};
