/**
 * heldKvBytes reads the bytes off what the engine holds: onnxruntime tensors' dims and element
 * type on the plain path, the fixed buffers' rows filled on the captured path. (The engine's
 * figure against the reference runner's own cache tensors: prunedReference.test.ts,
 * marginsParity.test.ts.)
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { heldKvBytes } from './kvBytes';
import type { OrtTensor } from './ortEnv';

const t = (type: 'float32' | 'float16', dims: number[]) =>
  new ort.Tensor(
    type,
    type === 'float32'
      ? new Float32Array(dims.reduce((a, b) => a * b, 1))
      : new Uint16Array(dims.reduce((a, b) => a * b, 1)),
    dims,
  ) as unknown as OrtTensor;

describe('heldKvBytes', () => {
  it('plain path: K + V tensor bytes per layer, from each tensor (rows and dtype as held)', () => {
    const caches = [
      { key: t('float32', [1, 2, 7, 16]), value: t('float32', [1, 2, 7, 16]), length: 7 },
      { key: t('float16', [1, 2, 5, 16]), value: t('float16', [1, 2, 5, 16]), length: 5 },
    ];
    expect(heldKvBytes(caches, () => [])).toEqual([2 * 2 * 7 * 16 * 4, 2 * 2 * 5 * 16 * 2]);
  });

  it('captured path: the fixed caches’ filled rows × one row of their tensors [1,Hkv,capacity,hd] (K + V)', () => {
    const row = 2 * 16 * 2; // Hkv 2, hd 16, f16
    const fixed = [
      { keyTensor: t('float16', [1, 2, 64, 16]), valueTensor: t('float16', [1, 2, 64, 16]), length: 9 },
      { keyTensor: t('float32', [1, 2, 192, 16]), valueTensor: t('float32', [1, 2, 192, 16]), length: 79 },
    ];
    // Not buffer size / capacity: a 192-row f32 cache (24576 bytes) sits in a 32768-byte buffer
    // from onnxruntime's bucket cache (llama-clip-gqa-112 on Dawn), which read 26965.33 bytes a layer.
    expect(heldKvBytes([], () => fixed)).toEqual([2 * 9 * row, 2 * 79 * 2 * 16 * 4]);
  });

  it('refuses a cache tensor of another type', () => {
    const bad = new ort.Tensor('int32', new Int32Array(4), [1, 1, 2, 2]) as unknown as OrtTensor;
    expect(() => heldKvBytes([{ key: bad, value: bad, length: 2 }], () => [])).toThrow(/int32/);
  });
});
