import { KernelInputError } from './kernels/errors';
import type { BTensor } from '../common/tensor';

/**
 * The tensor's shape as `rank` dims. A leading batch dim of 1 (ORT's [1,S,D], [1,H,S,hd])
 * is dropped; a 1-D (L) tensor reads as (L, 1) when rank 2 is asked (position columns).
 */
export function shapeOf(tensor: BTensor, rank: number, name: string): number[] {
  let s = [...tensor.shape];
  while (s.length > rank && s[0] === 1) s = s.slice(1);
  if (s.length === rank - 1 && rank === 2) s = [s[0], 1];
  if (s.length !== rank) throw new KernelInputError('PruneBackend', name, `${rank}-D`, `[${tensor.shape}]`);
  return s;
}
