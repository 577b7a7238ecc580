/**
 * The app's engine worker (src/engine/worker.ts) with the GPU byte counter hooked in first, so
 * ORT's device and buffers are counted (bench/gpuMemory.ts). Answers one extra message,
 * `{ type: 'bench-memory', reset }`, with `{ type: 'bench-memory', live, peak }`; everything
 * else is the app's protocol, untouched.
 *
 * The engine worker is imported after the hook (a dynamic import, so the hook runs first);
 * messages that arrive before its listener exists would be lost (the page sends `init` at
 * once), so they are held and re-dispatched once it is in place.
 */
import { installGpuMemoryCounter } from '../gpuMemory';

const memory = installGpuMemoryCounter(self as unknown as Record<string, unknown>);
let held: unknown[] | null = [];

self.addEventListener('message', (ev: MessageEvent<{ type?: string; reset?: boolean }>) => {
  if (ev.data?.type === 'bench-memory') {
    ev.stopImmediatePropagation();
    if (ev.data.reset) memory?.resetPeak();
    self.postMessage({ type: 'bench-memory', live: memory?.live() ?? null, peak: memory?.peak() ?? null });
  } else if (held) {
    held.push(ev.data);
    ev.stopImmediatePropagation();
  }
});

await import('../../src/engine/worker');
const early = held;
held = null;
for (const data of early) self.dispatchEvent(new MessageEvent('message', { data }));
