/**
 * Typed main-thread client of the engine worker: a promise per request, a token callback,
 * cancel. Errors arrive as EngineClientError carrying the worker's where/code/message. It rides
 * on the same EngineLink (workerLink) as the app's store, so bench pages and e2e use the app's
 * transport.
 */
import type {
  AdapterInfo,
  ConversationTurn,
  FromWorker,
  GenerateOptions,
  LoadProgress,
  MethodSettings,
  ModelInfo,
  ToWorker,
} from './protocol';
import type { RequestTrace } from '../common/trace';
import type { EngineErrorWhere } from '../common/errors';
import type { PackageSource } from '../package/source';

export class EngineClientError extends Error {
  override readonly name = 'EngineClientError';
  constructor(
    readonly where: EngineErrorWhere,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Pending = {
  resolve: (message: FromWorker) => void;
  reject: (error: EngineClientError) => void;
  onEvent?: (message: FromWorker) => void;
};

export interface GenerateHandle {
  id: number;
  result: Promise<{
    text: string;
    trace: RequestTrace;
    firstStepTopLogits?: { id: number; value: number }[];
    /** With `keepConversation`: the conversation the engine keeps, to name in a follow-up. */
    conversation?: { id: string; turns: number };
  }>;
  cancel(): void;
}

/** A question's place in a conversation (issue 15; protocol.ts `generate`, docs/ARCHITECTURE.md). */
export interface ConversationArgs {
  /** Earlier turns (a follow-up the engine no longer keeps: prefilled whole with the image). */
  history?: ConversationTurn[];
  /** A kept conversation's id (a previous result's `conversation.id`): only the new tokens are prefilled. */
  conversation?: string;
  /** Keep this request's caches for a follow-up. */
  keepConversation?: boolean;
}

export class EngineClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly link: EngineLink) {
    link.subscribe((m) => this.receive(m));
  }

  /** Over the worker module Vite bundles (ES worker), through the app's link. */
  static create(): EngineClient {
    return new EngineClient(workerLink(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })));
  }

  private receive(reply: FromWorker): void {
    if (reply.type === 'error' && reply.id === 0) {
      // The link's report that the worker itself failed: every request in flight is lost.
      const err = new EngineClientError(reply.where, reply.code, reply.message);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    if (reply.type === 'error') {
      this.pending.delete(reply.id);
      p.reject(new EngineClientError(reply.where, reply.code, reply.message));
    } else if (reply.type === 'ready' || reply.type === 'loaded' || reply.type === 'done') {
      this.pending.delete(reply.id);
      p.resolve(reply);
    } else p.onEvent?.(reply);
  }

  private request(msg: ToWorker, onEvent?: (m: FromWorker) => void): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, onEvent });
      this.link.post(msg);
    });
  }

  async init(preferBackend?: 'webgpu' | 'wasm'): Promise<AdapterInfo> {
    const m = await this.request({ type: 'init', id: this.nextId++, preferBackend });
    return (m as Extract<FromWorker, { type: 'ready' }>).adapter;
  }

  async load(source: PackageSource, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    const m = await this.request({ type: 'load', id: this.nextId++, source }, (e) => {
      if (e.type === 'progress') onProgress?.(e.progress);
    });
    return (m as Extract<FromWorker, { type: 'loaded' }>).model;
  }

  generate(
    image: { bytes: ArrayBuffer; mime: string; name: string },
    question: string,
    settings: MethodSettings,
    options: GenerateOptions,
    onToken?: (t: { tokenId: number; text: string; elapsedMs: number }) => void,
    conversation: ConversationArgs = {},
  ): GenerateHandle {
    const id = this.nextId++;
    const own = { ...image, bytes: image.bytes.slice(0) }; // transferred to the worker by the link
    const { history, conversation: kept, keepConversation } = conversation;
    const message: ToWorker = {
      type: 'generate',
      id,
      image: own,
      question,
      settings,
      options,
      ...(history ? { history } : {}),
      ...(kept !== undefined ? { conversation: kept } : {}),
      ...(keepConversation ? { keepConversation } : {}),
    };
    const result = this.request(message, (e) => {
      if (e.type === 'token') onToken?.({ tokenId: e.tokenId, text: e.text, elapsedMs: e.elapsedMs });
    }).then((m) => {
      const done = m as Extract<FromWorker, { type: 'done' }>;
      return {
        text: done.text,
        trace: done.trace,
        firstStepTopLogits: done.firstStepTopLogits,
        ...(done.conversation ? { conversation: done.conversation } : {}),
      };
    });
    return { id, result, cancel: () => this.link.post({ type: 'cancel', id } satisfies ToWorker) };
  }

  terminate(): void {
    this.link.terminate?.();
  }
}

export interface EngineLink {
  post(message: ToWorker): void;
  subscribe(handler: (message: FromWorker) => void): void;
  /**
   * Replace the engine by a fresh one (a new worker: new ORT, new GPUDevice). Used after a
   * device loss, so recovery does not depend on ORT rebuilding a device in place. Optional.
   */
  restart?(): void;
  /** Ends the worker for good. Optional. */
  terminate?(): void;
}

/** A Worker made by `make` as a link; restart() terminates it and makes another. Image bytes are transferred (transferOf). */
export function workerLink(make: () => Worker): EngineLink {
  let worker = make();
  let handler: ((message: FromWorker) => void) | null = null;
  const attach = (w: Worker) => {
    w.addEventListener('message', (e: MessageEvent<FromWorker>) => {
      if (w === worker) handler?.(e.data);
    });
    w.addEventListener('error', (e) => {
      if (w === worker)
        handler?.({
          type: 'error',
          id: 0,
          where: 'model',
          code: 'worker-failed',
          message: `The engine worker failed to start: ${e.message || 'script error'}.`,
        });
    });
  };
  attach(worker);
  return {
    post: (message) => worker.postMessage(message, transferOf(message)),
    subscribe: (h) => {
      handler = h;
    },
    restart: () => {
      worker.terminate();
      worker = make();
      attach(worker);
    },
    terminate: () => worker.terminate(),
  };
}

/**
 * A generate request's image buffers. Every sender makes its own copy for the request (runs.ts
 * from the input slice, evaluate.ts from the file), so the buffers move to the worker instead of
 * being cloned a second time (issue 15: image bytes transferred, not copied twice).
 */
export function transferOf(message: ToWorker): ArrayBuffer[] {
  if (message.type !== 'generate') return [];
  const buffers = [message.image.bytes, ...(message.images ?? []).map((im) => im.bytes)];
  return [...new Set(buffers)].filter((b) => b.byteLength > 0);
}
