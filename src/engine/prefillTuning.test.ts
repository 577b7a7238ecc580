/** The tuning's Node switches (ortEnv.ts `prefillTuning`): parsed per adapter, bad values refused by name. */
import { describe, expect, it } from 'vitest';
import { prefillTuning, TuningEnvError, webgpuProvider, type OrtRuntime } from './ortEnv';
import type { AdapterInfo } from './protocol';

const adapter = (backend: 'webgpu' | 'wasm', software = false): AdapterInfo => ({
  backend,
  vendor: 'nvidia',
  architecture: '',
  description: '',
  isFallbackAdapter: false,
  software,
  shaderF16: false,
  timestampQuery: false,
  maxBufferSize: 0,
  maxStorageBufferBindingSize: 0,
});

describe('prefillTuning', () => {
  it('reads each switch', () => {
    const t = prefillTuning(adapter('webgpu'), {
      SVLM_MATMUL_ACCURACY: '4',
      SVLM_VALIDATION: 'disabled',
      SVLM_BUFFER_CACHE: 'simple',
      SVLM_VISION_CAPTURE: '1',
    });
    expect(t).toEqual({
      matmulAccuracy: 4,
      validationMode: 'disabled',
      storageBufferCacheMode: 'simple',
      visionCapture: true,
    });
    const ep = webgpuProvider({ tuning: t } as OrtRuntime);
    expect(ep).toEqual({ name: 'webgpu', validationMode: 'disabled', storageBufferCacheMode: 'simple' });
  });

  it('defaults: int8 MatMulNBits and captured vision on hardware GPUs, nothing changed on software adapters', () => {
    expect(prefillTuning(adapter('webgpu'), {})).toEqual({
      matmulAccuracy: 4,
      validationMode: null,
      storageBufferCacheMode: null,
      visionCapture: true,
    });
    expect(prefillTuning(adapter('webgpu', true), {})).toEqual({
      matmulAccuracy: null,
      validationMode: null,
      storageBufferCacheMode: null,
      visionCapture: false,
    });
    const off = prefillTuning(adapter('webgpu'), { SVLM_MATMUL_ACCURACY: '0', SVLM_VISION_CAPTURE: '0' });
    expect([off.matmulAccuracy, off.visionCapture]).toEqual([0, false]);
  });

  it('leaves the WebGPU-only switches off on wasm', () => {
    const t = prefillTuning(adapter('wasm'), { SVLM_VALIDATION: 'disabled', SVLM_VISION_CAPTURE: '1' });
    expect(t.validationMode).toBeNull();
    expect(t.visionCapture).toBe(false);
  });

  it('refuses a value it does not know, naming the variable and the choices', () => {
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_MATMUL_ACCURACY: '3' })).toThrow(TuningEnvError);
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_BUFFER_CACHE: 'big' })).toThrow(
      'SVLM_BUFFER_CACHE=big is not one of disabled, lazyRelease, simple, bucket',
    );
  });
});
