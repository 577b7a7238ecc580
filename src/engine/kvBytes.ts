/**
 * The trace's `cost.kvBytesPerLayer`, measured: the bytes of the K and V cache contents each
 * layer holds when the request ends, read off what the engine actually holds — the plain path's
 * last present_key/present_value tensors (their dims and element type), or the captured
 * decoder's fixed cache tensors (bytes per row from their dims and type, times the rows filled).
 * Not a formula over the method's visual counts: a cache that kept rows it should have dropped,
 * or an element type other than the package's, shows here.
 */
import type { LayerCache } from './layerCache';
import type { OrtTensor } from './ortEnv';

const ELEMENT_BYTES: Record<string, number> = { float32: 4, float16: 2 };

function tensorBytes(ortTensor: OrtTensor): number {
  const per = ELEMENT_BYTES[ortTensor.type];
  if (per === undefined) throw new Error(`KV cache tensor of type ${ortTensor.type}: expected float32 or float16`);
  return ortTensor.dims.reduce((a, b) => a * b, 1) * per;
}

/** A captured decoder's fixed cache: its K and V tensors [1,Hkv,capacity,hd] and the rows filled. */
export interface FixedCacheView {
  keyTensor: { dims: readonly number[]; type: string };
  valueTensor: { dims: readonly number[]; type: string };
  length: number;
}

/**
 * Bytes of one row of a fixed cache [1,Hkv,capacity,hd] (all heads), from the tensor's dims and
 * element type — not buffer size / capacity: onnxruntime's bucket cache rounds a buffer up (a
 * 192-row cache of 2 heads × 16 f32 is 24576 bytes in a 32768-byte buffer), which read 4/3 of
 * the bytes held.
 */
function rowBytes(t: { dims: readonly number[]; type: string }): number {
  const per = ELEMENT_BYTES[t.type];
  if (per === undefined) throw new Error(`KV cache tensor of type ${t.type}: expected float32 or float16`);
  return t.dims[1] * t.dims[3] * per;
}

/**
 * Per layer: K bytes + V bytes. `caches` are the plain path's (or the prefill's, when no decode
 * step ran); when decode moved them into the captured decoder's fixed buffers, `caches` is empty
 * and `fixed` describes those buffers.
 */
export function heldKvBytes(caches: readonly LayerCache[], fixed: () => readonly FixedCacheView[]): number[] {
  if (caches.length > 0) return caches.map((c) => tensorBytes(c.key) + tensorBytes(c.value));
  return fixed().map((f) => f.length * (rowBytes(f.keyTensor) + rowBytes(f.valueTensor)));
}
