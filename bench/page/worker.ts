/**
 * The app's engine worker (src/engine/worker.ts) with the GPU byte counter hooked in first, so
 * ORT's device and buffers are counted (bench/gpuMemory.ts). Answers one extra message,
 * `{ type: 'bench-memory', reset }`, with `{ type: 'bench-memory', live, peak }`; everything
 * else is the app's protocol, untouched.
 */
import { installGpuMemoryCounter } from '../gpuMemory';

const memory = installGpuMemoryCounter(self as unknown as Record<string, unknown>);

self.addEventListener('message', (ev: MessageEvent<{ type?: string; reset?: boolean }>) => {
  if (ev.data?.type !== 'bench-memory') return;
  ev.stopImmediatePropagation();
  if (ev.data.reset) memory?.resetPeak();
  self.postMessage({ type: 'bench-memory', live: memory?.live() ?? null, peak: memory?.peak() ?? null });
});

await import('../../src/engine/worker');
