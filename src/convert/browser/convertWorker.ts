/**
 * Dedicated worker running convertInBrowser (OPFS sync access handles exist only here).
 * Messages: convertProtocol.ts. One conversion at a time per worker; `cancel` aborts it, and
 * what was downloaded stays on disk for the next attempt to resume.
 */
import { OpfsPackageStore } from '../../package/opfsStore';
import { convertInBrowser } from './convertInBrowser';
import { serializeError, type ConvertFromWorker, type ConvertToWorker } from './convertProtocol';

const scope = self as unknown as {
  postMessage(message: ConvertFromWorker): void;
  onmessage: ((e: MessageEvent<ConvertToWorker>) => void) | null;
};
const running = new Map<number, AbortController>();

scope.onmessage = async (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort(new DOMException('The conversion was cancelled.', 'AbortError'));
    return;
  }
  const abort = new AbortController();
  running.set(msg.id, abort);
  try {
    const store = await OpfsPackageStore.open();
    const result = await convertInBrowser({
      ...msg.request,
      store,
      signal: abort.signal,
      onProgress: (progress) => scope.postMessage({ type: 'progress', id: msg.id, progress }),
    });
    scope.postMessage({ type: 'done', id: msg.id, result });
  } catch (err) {
    scope.postMessage({ type: 'error', id: msg.id, error: serializeError(err) });
  } finally {
    running.delete(msg.id);
  }
};
