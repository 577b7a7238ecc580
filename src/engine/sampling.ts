/** Next-token choice from last-position logits (Vocab): greedy, or temperature + top-p with a seeded PRNG. */

/** Index of the largest logit; ties → lowest id (as torch.argmax). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** The k largest logits, descending (ties → lower id first). */
export function topK(logits: Float32Array, k: number): { id: number; value: number }[] {
  const ids = Array.from(logits.keys());
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  return ids.slice(0, k).map((id) => ({ id, value: logits[id] }));
}

/**
 * temperature 0 → greedy. Otherwise softmax(logits / temperature), keep the smallest set of
 * most likely tokens whose mass reaches topP (at least one), renormalise, draw.
 */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, random: () => number): number {
  if (!(temperature > 0)) return argmax(logits);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp((logits[i] - max) / temperature);
    sum += probs[i];
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  const p = topP > 0 && topP < 1 ? topP : 1;
  const kept: number[] = [];
  let mass = 0;
  for (const id of order) {
    kept.push(id);
    mass += probs[id] / sum;
    if (mass >= p) break;
  }
  const keptSum = kept.reduce((s, id) => s + probs[id], 0);
  let r = random() * keptSum;
  for (const id of kept) {
    r -= probs[id];
    if (r <= 0) return id;
  }
  return kept[kept.length - 1];
}
