/**
 * A checkpoint, normalised: canonical tensor names (keys.ts), one config shape (config.ts),
 * and the side files the package copies, whichever generation and key layout it came in.
 */
import type { LlavaConfig } from './config';

export type TensorDtype = 'F32' | 'F16' | 'BF16';

/** The files the package carries from the checkpoint (preprocessor_config.json in the flat form transformers.js reads). */
export type SideFile = 'config.json' | 'tokenizer.json' | 'tokenizer_config.json' | 'preprocessor_config.json';

export interface TensorInfo {
  dtype: TensorDtype;
  shape: number[];
}

export interface Checkpoint {
  /** Hub id or folder name: goes into manifest.source.id and manifest.name. */
  id: string;
  /** 'legacy': llava-hf hub files; 'v5': transformers-5 save_pretrained files. */
  layout: 'legacy' | 'v5';
  config: LlavaConfig;
  chatTemplate: string;
  files: Record<SideFile, Uint8Array>;
  /** Canonical tensor names, sorted (lm_head.weight absent when config.text.tieWordEmbeddings). */
  names(): string[];
  info(name: string): TensorInfo | undefined;
  /** One tensor widened to f32, read from storage on demand (never the whole checkpoint in memory). */
  read(name: string): Promise<Float32Array>;
}
