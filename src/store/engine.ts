/**
 * The store's side of the worker boundary: request ids, and routing every FromWorker message
 * to the slice it updates. Only protocol messages cross; nothing here knows how the engine
 * works. `connectEngine` takes any link (the app passes the Worker).
 */
import type { FromWorker, ModelInfo, ToWorker } from '../engine/protocol';
import { ProgressMeter } from './progress';
import { getState, setState } from './store';
import type { ModelSlice, Run, ShownError } from './types';
import type { EngineLink } from '../engine/client';

/** What was loaded when a load began: put back when the new package is refused before the old one is released. */
export interface PreviousModel {
  info: ModelInfo;
  sourceLabel: string;
  lastSource: ModelSlice['lastSource'];
}

type Pending =
  | { kind: 'init' }
  | { kind: 'load'; meter: ProgressMeter; previous: PreviousModel | null }
  | { kind: 'generate' }
  /** Answered to its own handler, never to the slices (the Evaluate panel's requests, store/evaluate.ts). */
  | { kind: 'direct'; handler: (message: FromWorker) => void };

let link: EngineLink | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

export function connectEngine(engineLink: EngineLink): void {
  link = engineLink;
  engineLink.subscribe(handleMessage);
}

export function isConnected(): boolean {
  return link !== null;
}

/**
 * A fresh engine where the link can make one: requests still pending in the old one will never
 * be answered, so their runs end here as failed with `message`. Returns whether it restarted.
 */
export function restartEngine(message: string): boolean {
  if (!link?.restart) return false;
  link.restart();
  const lost = [...pending.entries()].filter(([, p]) => p.kind === 'generate').map(([id]) => id);
  const direct = [...pending.entries()].flatMap(([id, p]) => (p.kind === 'direct' ? [[id, p.handler] as const] : []));
  pending.clear();
  for (const [id, handler] of direct) handler({ type: 'error', id, where: 'gpu', code: 'device-lost', message });
  const error: ShownError = { where: 'answer', code: 'device-lost', message };
  setState((s) => ({
    runs: s.runs.map((r) =>
      lost.includes(r.id) || r.status === 'running' || r.status === 'stopping' ? { ...r, status: 'error', error } : r,
    ),
  }));
  return true;
}

export function newRequestId(): number {
  return nextId++;
}

/** Send a request; `kind` tells the router what its answers update. */
export function send(
  message: ToWorker,
  kind?: Exclude<Pending['kind'], 'direct'>,
  previous: PreviousModel | null = null,
): void {
  if (!link) throw new Error('engine not connected');
  if (kind === 'load') pending.set(message.id, { kind, meter: new ProgressMeter(), previous });
  else if (kind) pending.set(message.id, { kind });
  link.post(message);
}

/**
 * Send a request whose token/done/error answers go to `handler` only (runs, errors and history
 * stay untouched); a device loss still goes through recovery, which fails it with an error.
 */
export function sendDirect(message: ToWorker, handler: (message: FromWorker) => void): void {
  if (!link) throw new Error('engine not connected');
  pending.set(message.id, { kind: 'direct', handler });
  link.post(message);
}

export function showError(error: ShownError): void {
  const panel = error.where === 'gpu' ? 'answer' : error.where;
  setState((s) => ({ errors: { ...s.errors, [panel]: error } }));
}

export function clearError(panel: 'model' | 'input' | 'answer'): void {
  setState((s) => {
    if (!s.errors[panel]) return s;
    const errors = { ...s.errors };
    delete errors[panel];
    return { errors };
  });
}

function updateRun(id: number, change: (run: Run) => Partial<Run>): void {
  setState((s) => ({ runs: s.runs.map((r) => (r.id === id ? { ...r, ...change(r) } : r)) }));
}

/** Set by runs.ts: start the next queued run when one finishes. */
let onRunSettled: () => void = () => {};
export function setRunSettledHandler(handler: () => void): void {
  onRunSettled = handler;
}

/** Set by model.ts: the GPU device was lost; re-init and reload the model. */
let onDeviceLost: (message: string) => void = () => {};
export function setDeviceLostHandler(handler: (message: string) => void): void {
  onDeviceLost = handler;
}

/** Set by history.ts: a run finished with an answer (saved to IndexedDB). */
let onRunDone: (run: Run) => void = () => {};
export function setRunDoneHandler(handler: (run: Run) => void): void {
  onRunDone = handler;
}

export function handleMessage(message: FromWorker): void {
  const request = pending.get(message.id);
  if (request?.kind === 'direct' && message.type !== 'device-lost') {
    if (message.type === 'done' || message.type === 'error') pending.delete(message.id);
    request.handler(message);
    return;
  }
  switch (message.type) {
    case 'ready':
      setState({ adapter: message.adapter });
      return;
    case 'progress':
      if (request?.kind === 'load') setState({ progress: request.meter.update(message.progress, performance.now()) });
      return;
    case 'loaded':
      pending.delete(message.id);
      setState((s) => ({
        status: 'ready',
        info: message.model,
        progress: null,
        layer: 0,
        deviceLost: s.deviceLost ? { ...s.deviceLost, recovered: true } : null,
      }));
      clearError('model');
      onRunSettled(); // runs asked while the model was loading start now
      return;
    case 'token':
      updateRun(message.id, (r) => ({
        text: r.text + message.text,
        tokenCount: r.tokenCount + 1,
        firstTokenMs: r.firstTokenMs ?? message.elapsedMs,
        lastTokenMs: message.elapsedMs,
      }));
      return;
    case 'done':
      pending.delete(message.id);
      updateRun(message.id, (r) => ({
        status: r.status === 'stopping' ? 'stopped' : 'done',
        text: message.text,
        trace: message.trace,
        ...(message.conversation ? { conversationId: message.conversation.id } : {}),
        totalMs: message.trace.timings.totalMs,
        firstTokenMs: r.firstTokenMs ?? message.trace.timings.firstTokenMs,
      }));
      {
        const run = getState().runs.find((r) => r.id === message.id);
        if (run?.status === 'done') onRunDone(run);
      }
      onRunSettled();
      return;
    case 'device-lost':
      onDeviceLost(message.message);
      return;
    case 'error': {
      pending.delete(message.id);
      const error: ShownError = { where: message.where, code: message.code, message: message.message };
      if (request?.kind === 'generate' || getState().runs.some((r) => r.id === message.id)) {
        const cancelled = message.code === 'cancelled';
        updateRun(message.id, (r) =>
          cancelled
            ? { status: 'stopped', totalMs: r.startedAt === undefined ? null : performance.now() - r.startedAt }
            : { status: 'error', error },
        );
        if (!cancelled) showError(error);
        // A GPU failure during a run is how a lost device shows up when no 'device-lost' came first.
        if (message.where === 'gpu' && !cancelled) onDeviceLost(message.message);
        onRunSettled();
        return;
      }
      if (request?.kind === 'load' && message.loaded) {
        // Refused before anything was released: the model that was loaded still is, and stays usable.
        const kept = request.previous?.info.name === message.loaded.name ? request.previous : null;
        setState({
          status: 'ready',
          progress: null,
          info: message.loaded,
          sourceLabel: kept?.sourceLabel ?? message.loaded.name,
          lastSource: kept?.lastSource ?? null,
        });
        showError({
          ...error,
          message: `${error.message} ${kept?.sourceLabel ?? message.loaded.name} is still loaded.`,
        });
        onRunSettled(); // a question asked meanwhile runs on the model still loaded
        return;
      }
      if (request?.kind === 'load' || request?.kind === 'init' || message.where === 'model') {
        // Runs that were waiting for this model will not run.
        const why: ShownError = {
          where: 'answer',
          code: 'no-model',
          message: `No model is loaded: ${message.message}`,
        };
        setState((s) => ({
          status: 'error',
          progress: null,
          runs: s.runs.map((r) => (r.status === 'queued' ? { ...r, status: 'error', error: why } : r)),
        }));
      }
      showError(error);
      return;
    }
  }
}
