import { KernelInputError } from './errors';

/**
 * CPU twin of shaders/argmax_logits.wgsl: index of the largest logit, ties → lowest index
 * (torch.argmax; the same rule as src/engine/sampling.ts' argmax). Logits (n ≥ 1) finite or −∞.
 */
export function argmaxLogitsReference(logits: ArrayLike<number>): number {
  if (logits.length < 1) throw new KernelInputError('argmaxLogits', 'logits', '≥ 1 element', '0');
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}
