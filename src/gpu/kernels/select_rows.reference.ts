import { KernelInputError } from './errors';

/** CPU twin of shaders/select_rows.wgsl: out[i] = src[start + i] + add (u32, wrapping), i < count. */
export function selectRowsReference(src: ArrayLike<number>, start: number, count: number, add: number): Uint32Array {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > src.length) {
    throw new KernelInputError('selectRows', 'src', `≥ ${start + count} elements`, `${src.length}`);
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = src[start + i] + add; // Uint32Array stores mod 2³², as WGSL u32 adds
  return out;
}
