/**
 * Which package dtype this adapter should get: int4 weights either way (the models are too big
 * for fp16/fp32 weights in most browsers), with f16 activations only where WGSL can do f16
 * arithmetic (the `shader-f16` feature). Without it the WebGPU EP would emulate f16, slower
 * than f32, so q4 (f32 activations) is the better choice there.
 */
import type { PackageDtype } from '../../package/manifest';

/** The slice of GPUAdapter (or of the engine's AdapterInfo) the choice depends on. */
export type DtypeAdapter = { features: { has(name: string): boolean } } | { shaderF16: boolean } | null;

export interface DtypeChoice {
  dtype: Extract<PackageDtype, 'q4' | 'q4f16'>;
  /** One sentence for the model panel. */
  reason: string;
}

export function chooseDtype(adapter: DtypeAdapter): DtypeChoice {
  if (!adapter)
    return { dtype: 'q4', reason: 'No WebGPU adapter: q4 (int4 weights, f32 activations) for the wasm backend.' };
  const f16 = 'shaderF16' in adapter ? adapter.shaderF16 : adapter.features.has('shader-f16');
  return f16
    ? {
        dtype: 'q4f16',
        reason:
          'The GPU supports shader-f16: q4f16 (int4 weights, f16 activations) halves activation memory and bandwidth.',
      }
    : { dtype: 'q4', reason: 'The GPU lacks shader-f16: q4 (int4 weights, f32 activations).' };
}
