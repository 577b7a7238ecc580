/** The tuning's Node switches (ortEnv.ts `prefillTuning`): parsed per adapter, bad values refused by name. */
import { describe, expect, it } from 'vitest';
import { prefillTuning, TuningEnvError, webgpuContextOptions, webgpuProvider, type OrtRuntime } from './ortEnv';
import type { AdapterInfo } from './protocol';

const adapter = (
  backend: 'webgpu' | 'wasm',
  software = false,
  subgroupMinSize: number | null = software ? 4 : 32,
): AdapterInfo => ({
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
  subgroupMinSize,
});

describe('prefillTuning', () => {
  it('reads each switch', () => {
    const t = prefillTuning(adapter('webgpu'), {
      SVLM_MATMUL_ACCURACY: '4',
      SVLM_VALIDATION: 'disabled',
      SVLM_BUFFER_CACHE: 'simple',
      SVLM_VISION_CAPTURE: '1',
      SVLM_MAX_PENDING_DISPATCHES: '64',
      SVLM_DECODE_LAYERS_PER_SESSION: '4',
      SVLM_EXACT_BUFFERS: '0',
    });
    expect(t).toEqual({
      matmulAccuracy: 4,
      validationMode: 'disabled',
      storageBufferCacheMode: 'simple',
      visionCapture: true,
      maxPendingDispatches: 64,
      fusedAttention: true,
      decodeLayersPerSession: 4,
      exactBuffers: false,
    });
    const ep = webgpuProvider({ tuning: t } as OrtRuntime);
    expect(ep).toEqual({ name: 'webgpu', validationMode: 'disabled', storageBufferCacheMode: 'simple' });
    // Not in the EP entry (onnxruntime-web's JS would drop it): set through webgpuConfig.ts.
    expect(webgpuContextOptions(t)).toEqual({ maxNumPendingDispatches: '64' });
  });

  it('defaults: int8 MatMulNBits and captured vision on hardware GPUs, nothing changed on software adapters', () => {
    expect(prefillTuning(adapter('webgpu'), {})).toEqual({
      matmulAccuracy: 4,
      validationMode: null,
      storageBufferCacheMode: null,
      visionCapture: true,
      maxPendingDispatches: null,
      fusedAttention: true,
      decodeLayersPerSession: null,
      exactBuffers: true,
    });
    expect(prefillTuning(adapter('webgpu', true), {})).toEqual({
      matmulAccuracy: null,
      validationMode: null,
      storageBufferCacheMode: null,
      visionCapture: false,
      maxPendingDispatches: null,
      fusedAttention: false,
      decodeLayersPerSession: null,
      exactBuffers: true,
    });
    const off = prefillTuning(adapter('webgpu'), { SVLM_MATMUL_ACCURACY: '0', SVLM_VISION_CAPTURE: '0' });
    expect([off.matmulAccuracy, off.visionCapture]).toEqual([0, false]);
  });

  it('fuses prefill attention where subgroups are 16+ wide (a 32-wide NVIDIA adapter), not on SwiftShader (4) or an unknown width; the env overrides', () => {
    const fused = (a: AdapterInfo, env: Record<string, string> = {}) => prefillTuning(a, env).fusedAttention;
    expect(fused(adapter('webgpu', false, 32))).toBe(true);
    expect(fused(adapter('webgpu', false, 16))).toBe(true);
    expect(fused(adapter('webgpu', true, 4))).toBe(false); // SwiftShader
    expect(fused(adapter('webgpu', false, 8))).toBe(false);
    expect(fused(adapter('webgpu', false, null))).toBe(false);
    expect(fused(adapter('webgpu', true, 4), { SVLM_FUSED_ATTENTION: '1' })).toBe(true);
    expect(fused(adapter('webgpu', false, 32), { SVLM_FUSED_ATTENTION: '0' })).toBe(false);
    expect(fused(adapter('wasm', false, null), { SVLM_FUSED_ATTENTION: '1' })).toBe(false);
    expect(() => fused(adapter('webgpu'), { SVLM_FUSED_ATTENTION: 'on' })).toThrow(
      'SVLM_FUSED_ATTENTION=on is not one of 0, 1',
    );
  });

  it('leaves the WebGPU-only switches off on wasm', () => {
    const t = prefillTuning(adapter('wasm'), {
      SVLM_VALIDATION: 'disabled',
      SVLM_VISION_CAPTURE: '1',
      SVLM_MAX_PENDING_DISPATCHES: '64',
    });
    expect(t.validationMode).toBeNull();
    expect(t.visionCapture).toBe(false);
    expect(t.maxPendingDispatches).toBeNull();
    expect(webgpuContextOptions(t)).toEqual({});
  });

  it('refuses a value it does not know, naming the variable and the choices', () => {
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_MATMUL_ACCURACY: '3' })).toThrow(TuningEnvError);
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_BUFFER_CACHE: 'big' })).toThrow(
      'SVLM_BUFFER_CACHE=big is not one of disabled, lazyRelease, simple, bucket',
    );
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_DECODE_LAYERS_PER_SESSION: '0' })).toThrow(
      'SVLM_DECODE_LAYERS_PER_SESSION=0 is not an integer from 1 to 4096',
    );
    expect(() => prefillTuning(adapter('webgpu'), { SVLM_EXACT_BUFFERS: 'yes' })).toThrow(
      'SVLM_EXACT_BUFFERS=yes is not one of 0, 1',
    );
  });

  it('takes SVLM_MAX_PENDING_DISPATCHES as an integer from 1 to 4096 (onnxruntime’s bounds), refusing others by name', () => {
    const of = (v: string) => prefillTuning(adapter('webgpu'), { SVLM_MAX_PENDING_DISPATCHES: v }).maxPendingDispatches;
    expect([of('1'), of('64'), of('4096'), of('')]).toEqual([1, 64, 4096, null]);
    for (const bad of ['0', '4097', '-1', '1.5', '64 ', '0x40', 'sixty-four', '1e2']) {
      expect(() => of(bad), bad).toThrow(TuningEnvError);
      expect(() => of(bad), bad).toThrow(`SVLM_MAX_PENDING_DISPATCHES=${bad} is not an integer from 1 to 4096`);
    }
    // A typo is refused on wasm too, where the switch does nothing.
    expect(() => prefillTuning(adapter('wasm'), { SVLM_MAX_PENDING_DISPATCHES: '0' })).toThrow(TuningEnvError);
    // Set in code (OrtInitOptions.tuning), the same bounds.
    const t = prefillTuning(adapter('webgpu'), {});
    expect(() => webgpuContextOptions({ ...t, maxPendingDispatches: 0 })).toThrow('not an integer from 1 to 4096');
    expect(() => webgpuContextOptions({ ...t, maxPendingDispatches: 2.5 })).toThrow(RangeError);
  });
});
