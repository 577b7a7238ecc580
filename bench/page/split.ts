/**
 * The split cost in the browser (bench/merged.ts): a worker of its own, started after the
 * engine worker is gone, loads the package into a fresh Engine (the same per-layer sessions as
 * the app's) and times them against decoder_merged.onnx on the same ORT, same backend.
 * One message in `{ url, backend, runs, newTokens, seqLen }`; `log` lines, then `done` or `error`.
 */
/// <reference lib="webworker" />
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { Engine } from '../../src/engine/engine';
import { readerFor } from '../../src/package/source';
import { measureSplitCost } from '../merged';

declare const self: DedicatedWorkerGlobalScope;

export interface SplitRequest {
  url: string;
  backend: 'webgpu' | 'wasm';
  runs: number;
  newTokens: number;
  seqLen: number;
}

self.addEventListener('message', (ev: MessageEvent<SplitRequest>) => {
  const q = ev.data;
  void (async () => {
    const engine = await Engine.create({
      preferBackend: q.backend,
      wasmPaths: { wasm: new URL(ortWasmUrl, self.location.href).href },
    });
    const reader = readerFor({ kind: 'url', url: q.url });
    await engine.load(reader);
    const result = await measureSplitCost(
      engine,
      (p) => reader.read(p),
      { runs: q.runs, newTokens: q.newTokens, seqLen: q.seqLen },
      (line) => self.postMessage({ type: 'log', line }),
    );
    await engine.dispose();
    self.postMessage({ type: 'done', result });
  })().catch((e: unknown) => self.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
});
