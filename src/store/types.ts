/**
 * The app's state, one zustand store in slices (model, input, method, runs, ui). Plain data
 * only: no tensors, no workers, no DOM nodes. The engine lives behind the worker boundary
 * (engine/protocol.ts); what comes back is copied in here as summaries and traces.
 */
import type { BrowserConvertProgress } from '../convert/browser/convertInBrowser';
import type { PreflightFigures } from '../convert/browser/preflight';
import type { CachedPackage } from '../package/opfsStore';
import type { AdapterInfo, ConversationTurn, LoadProgress, MethodSettings, ModelInfo } from '../engine/protocol';
import type { RequestTrace } from '../common/trace';
import type { RunSummary } from './persist/runsDb';
import type { EvalSlice } from './evalSlice';
import type { ParamValue } from '../prune/params';
import type { EngineErrorWhere } from '../common/errors';
import type { PackageSource } from '../package/source';

/** An error shown where it happened. */
export interface ShownError {
  where: EngineErrorWhere;
  code: string;
  message: string;
}

export type ModelStatus = 'idle' | 'starting' | 'loading' | 'ready' | 'error';

export interface ProgressFigures extends LoadProgress {
  /** Bytes per second over the recent window, null until two samples exist. */
  rate: number | null;
  /** Seconds left at that rate, null when unknown. */
  remainingS: number | null;
}

export interface ModelSlice {
  status: ModelStatus;
  /** What is being loaded, in words (a URL, a folder name). */
  sourceLabel: string;
  adapter: AdapterInfo | null;
  /** navigator.gpu is missing: the engine runs on wasm. */
  noWebGpu: boolean;
  progress: ProgressFigures | null;
  info: ModelInfo | null;
  /** What was last asked to load: reloaded after a GPU device loss. */
  lastSource: { source: PackageSource; label: string } | null;
  /** Set when the engine lost its GPU device; `recovered` once the model is back. */
  deviceLost: { message: string; recovered: boolean; count: number } | null;
}

/** An in-browser hub conversion (issue 7): its dtype choice, progress, and how it ended. */
export interface HubJob {
  id: string;
  key: string;
  dtype: 'q4' | 'q4f16';
  /** Why that dtype (chooseDtype's sentence). */
  reason: string;
  status: 'running' | 'done' | 'error' | 'cancelled';
  progress: BrowserConvertProgress | null;
  error: (ShownError & { figures?: PreflightFigures }) | null;
}

export interface HubSlice {
  /** Hub base URL (HF_ENDPOINT's role). */
  endpoint: string;
  /** GPU memory the person says the adapter has (WebGPU does not tell), for the pre-flight check. */
  gpuMemoryMb: number | null;
  job: HubJob | null;
  /** Packages in the browser cache (OPFS), null until listed. */
  cached: CachedPackage[] | null;
}

export interface HistorySlice {
  /** Runs saved in IndexedDB, newest first (without traces). */
  saved: RunSummary[];
}

export interface InputImage {
  /** Increments with every new image: part of a run's cache key. */
  version: number;
  name: string;
  mime: string;
  bytes: ArrayBuffer;
  width: number;
  height: number;
  /** object URL for <img>/<image>; revoked when replaced. */
  url: string;
  /**
   * A video's sampled frame: its position on the source's millisecond grid (the browser's
   * `<video>` element exposes time, not frame numbers) and the grid's length; `timeS` in seconds.
   */
  frame?: { index: number; of: number; timeS: number };
}

/** A video a person gave, kept so it can be sampled again with another frame count. */
export interface InputVideo {
  name: string;
  blob: Blob;
  durationS: number;
  width: number;
  height: number;
}

export interface InputSlice {
  /** The first of `images` (null when there is none): what single-image views show. */
  image: InputImage | null;
  /** The question's images in prompt order, or the video's sampled frames in time order. */
  images: InputImage[];
  /** Set when `images` are a video's frames. */
  video: InputVideo | null;
  /** Frames sampled from a video (uniformly over its length). */
  frameCount: number;
  /** A video being read and sampled now (its name), for the panel's progress line. */
  sampling: string | null;
  question: string;
}

export interface MethodSlice {
  method: string;
  budget: number;
  /** Values a person changed, per method (defaults come from prune/params.ts). */
  params: Record<string, Record<string, ParamValue>>;
  /** Longest answer, in new tokens. */
  maxNewTokens: number;
  /** Sampling as the CLI's --temperature / --top-p / --seed: temperature 0 is greedy (the default). */
  temperature: number;
  topP: number;
  seed: number;
}

export type RunStatus = 'queued' | 'running' | 'stopping' | 'done' | 'stopped' | 'error';

export interface Run {
  /** Protocol request id. */
  id: number;
  /** image version | question | settings: equal keys give equal answers (greedy). */
  key: string;
  settings: MethodSettings;
  /** The answer length asked for (absent for runs reopened from before it was saved). */
  maxNewTokens?: number;
  label: string;
  imageName: string;
  question: string;
  status: RunStatus;
  text: string;
  tokenCount: number;
  firstTokenMs: number | null;
  lastTokenMs: number | null;
  totalMs: number | null;
  /** performance.now() when the run was sent to the engine (a stopped run's total counts from it). */
  startedAt?: number;
  trace: RequestTrace | null;
  error: ShownError | null;
  /** Compare group this run belongs to, null for a single ask. */
  group: number | null;
  /** Id in the run history (IndexedDB) once saved, or when the run was reopened from it. */
  savedId?: string;
  /**
   * A follow-up question (issue 15): the conversation's earlier turns, oldest first (this run is
   * turn `history.length + 1`). Absent on a first question.
   */
  history?: ConversationTurn[];
  /** The engine's kept conversation after this run (its caches), for the next follow-up. */
  conversationId?: string;
  /** The run this one follows up on (its previous turn), while both are in memory. */
  followUpOf?: number;
}

export interface RunsSlice {
  runs: Run[];
  /** The run the answer, explorer, raters and cost panels show. */
  currentRunId: number | null;
  /** Compare mode: the settings side by side, and the runs of the last compare (cached ones included). */
  compare: { enabled: boolean; settings: MethodSettings[]; runIds: number[] };
}

export interface UiSlice {
  errors: Partial<Record<'model' | 'input' | 'answer', ShownError>>;
  theme: 'system' | 'light' | 'dark';
  /** Layer the explorer shows (visual tokens entering it). */
  layer: number;
}

export type AppState = ModelSlice &
  InputSlice &
  MethodSlice &
  RunsSlice &
  UiSlice &
  HubSlice &
  HistorySlice &
  EvalSlice;
