/** The one store. Actions are plain exported functions in the sibling files (zustand's "no store actions"). */
import { create } from 'zustand';
import type {
  AppState,
  HistorySlice,
  HubSlice,
  InputSlice,
  MethodSlice,
  ModelSlice,
  RunsSlice,
  UiSlice,
} from './types';
import { evalSlice } from './evalSlice';
import { DEFAULT_FRAMES } from '../engine/frames';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

const modelSlice = (): ModelSlice => ({
  status: 'idle',
  sourceLabel: '',
  adapter: null,
  noWebGpu: false,
  progress: null,
  info: null,
  lastSource: null,
  deviceLost: null,
});
const inputSlice = (): InputSlice => ({
  image: null,
  images: [],
  video: null,
  frameCount: DEFAULT_FRAMES,
  sampling: null,
  question: '',
});
// A pruned default: the first answer already shows what SparseVLM keeps (None is one click away).
const methodSlice = (): MethodSlice => ({
  method: 'sparsevlm',
  budget: 64,
  params: {},
  maxNewTokens: 32,
  temperature: 0,
  topP: 1,
  seed: 0,
});
const runsSlice = (): RunsSlice => ({
  runs: [],
  currentRunId: null,
  compare: {
    enabled: false,
    runIds: [],
    settings: [{ method: 'none' }, { method: 'sparsevlm', budget: 64 }, { method: 'fastv', budget: 64 }],
  },
});
const uiSlice = (): UiSlice => ({ errors: {}, theme: 'system', layer: 0 });
const hubSlice = (): HubSlice => ({ endpoint: DEFAULT_HUB_ENDPOINT, gpuMemoryMb: null, job: null, cached: null });
const historySlice = (): HistorySlice => ({ saved: [] });

export const initialState = (): AppState => ({
  ...modelSlice(),
  ...inputSlice(),
  ...methodSlice(),
  ...runsSlice(),
  ...uiSlice(),
  ...hubSlice(),
  ...historySlice(),
  ...evalSlice(),
});

export const useApp = create<AppState>()(() => initialState());

export const getState = useApp.getState;
export const setState = useApp.setState;

/** Back to the initial state (tests). */
export function resetStore(): void {
  useApp.setState(initialState(), true);
}
