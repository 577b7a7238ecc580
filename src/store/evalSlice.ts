/**
 * The Evaluate panel's slice of the store (issue 16): the options, the picked folder in words,
 * progress, the result documents and the saved evaluations. Plain data only; the picked files
 * and the running loop live in store/evaluate.ts.
 */
import type { FormatName } from '../eval/types';
import type { EvalResults, EvalSpeed } from '../eval/summary';
import type { StoredEval } from './persist/evalDb';

export type EvalStatus = 'idle' | 'reading' | 'ready' | 'running' | 'stopping' | 'done' | 'stopped' | 'error';

export interface EvalOptions {
  format: FormatName;
  /** As on the command line: `none,sparsevlm:64`. */
  methods: string;
  /** null: the format's default suffix. */
  suffix: string | null;
  limit: number | null;
  maxNewTokens: number;
}

export interface EvalSlice {
  evaluation: {
    status: EvalStatus;
    options: EvalOptions;
    /** The picked folder's name and what the format found in it. */
    folder: string | null;
    itemCount: number;
    progress: {
      done: number;
      total: number;
      resumed: number;
      etaS: number | null;
      method: string;
      itemId: string;
    } | null;
    /** Id of the evaluation in IndexedDB the panel shows. */
    currentId: string | null;
    results: EvalResults | null;
    speed: EvalSpeed | null;
    /** A sentence for the panel (bad folder, no model, engine failure). */
    error: string | null;
  };
  /** Saved evaluations, newest first. */
  evalSaved: StoredEval[];
}

export const evalSlice = (): EvalSlice => ({
  evaluation: {
    status: 'idle',
    options: {
      format: 'pope',
      methods: 'none,sparsevlm:192,sparsevlm:64',
      suffix: null,
      limit: null,
      maxNewTokens: 128,
    },
    folder: null,
    itemCount: 0,
    progress: null,
    currentId: null,
    results: null,
    speed: null,
    error: null,
  },
  evalSaved: [],
});
