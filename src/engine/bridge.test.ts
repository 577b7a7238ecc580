/**
 * The bridge checks dtypes against the package's activation dtype (issue 11: a q4f16 package
 * stopped with "visual expected f32, got f32" because everything was labelled f32).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { CpuPruneBackend, CpuTensor } from '../prune/cpuBackend';
import { castF32ToF16Reference } from '../gpu/kernels/cast_f16.reference';
import { BridgeDtypeError, cpuBridge } from './bridge';
import type { Ort } from './ortEnv';

const runtime = ort as unknown as Ort;

describe('bridge dtypes', () => {
  it('an activation in another dtype than the package\u2019s is refused, naming both', () => {
    const f16 = cpuBridge(runtime, new CpuPruneBackend(), 'float16');
    const f32 = cpuBridge(runtime, new CpuPruneBackend(), 'float32');
    expect(() => f16.view(new ort.Tensor('float32', new Float32Array(6), [1, 3, 2]), [3, 2])).toThrow(
      new BridgeDtypeError('activation [3,2]', 'float16', 'float32'),
    );
    expect(() => f32.view(new ort.Tensor('float16', new Uint16Array(6), [1, 3, 2]), [3, 2])).toThrow(
      /activation \[3,2\]: expected float32 \(the package's activation dtype\), got float16/,
    );
    expect(() => f32.view(new ort.Tensor('int32', new Int32Array(6), [1, 3, 2]), [3, 2])).toThrow(
      /expected float32.*got int32/,
    );
  });

  it('f16 activations: viewed as f16, gathered with f32 merged rows as f16, back to ORT as float16; an f32 result is refused', () => {
    const be = new CpuPruneBackend();
    const bridge = cpuBridge(runtime, be, 'float16');
    const rows = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const hidden = bridge.view(new ort.Tensor('float16', castF32ToF16Reference(rows), [1, 3, 2]), [3, 2]);
    expect(hidden.dtype).toBe('f16');
    const merged = be.upload(Float32Array.from([0.5, 0.25]), [1, 2]);
    const out = be.gather(hidden, merged, be.upload(Uint32Array.from([2, 3, 0]), [3]));
    const t = bridge.toOrt(out, [1, 3, 2]);
    expect(t.type).toBe('float16');
    expect(Array.from(t.data as Uint16Array)).toEqual(
      Array.from(castF32ToF16Reference(Float32Array.from([5, 6, 0.5, 0.25, 1, 2]))),
    );
    expect(() => bridge.toOrt(new CpuTensor(new Float32Array(2), [1, 2], 'f32'), [1, 1, 2])).toThrow(
      /result \[1,2\]: expected float16.*got float32/,
    );
    // Positions and row lists are not activations: i32/u32 pass.
    expect(bridge.toOrt(be.upload(Int32Array.from([0, 1]), [2]), [1, 2]).type).toBe('int32');
  });
});
