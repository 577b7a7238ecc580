/**
 * What the graph builders need from a checkpoint: canonical tensor names (see
 * ../checkpoint/keys.ts) read one at a time as f32, and the dims of the model
 * (../architectures/llavaConfig.ts, as ../checkpoint/config.ts reads them).
 */
import type { LlavaConfig, TextConfig, VisionConfig } from '../architectures/llavaConfig';
import type { Int4Weight } from '../quantize';

export type WeightDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16';
export type ActDtype = 'float32' | 'float16';

export function activationDtype(dtype: WeightDtype): ActDtype {
  return dtype === 'fp16' || dtype === 'q4f16' ? 'float16' : 'float32';
}

/** A source of canonical tensors; `read` returns a fresh f32 copy the caller may drop. */
export interface TensorSource {
  info(name: string): { dtype: string; shape: number[] } | undefined;
  read(name: string): Promise<Float32Array>;
  /**
   * Optional: a Linear weight [N, K] already in MatMulNBits int4 form (../quantize.ts layout),
   * for sources that can make it without floats (synthetic checkpoints write the 7B shape
   * straight to int4). `undefined` → the builder quantises `read(name)` itself, as for any
   * real checkpoint. `halfScales`: scales as f16 bits (q4f16) rather than f32 (q4).
   */
  readInt4?(name: string, opts: { blockSize: number; halfScales: boolean }): Promise<Int4Weight | undefined>;
}

/** The builders read the normalised config of config.ts directly. */
export type TextDims = TextConfig;
export type VisionDims = VisionConfig;
export type GraphConfig = Pick<LlavaConfig, 'text' | 'vision' | 'projector' | 'video'>;
