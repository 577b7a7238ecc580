/** The one seeded generator, for sampling, test data and benchmarks. */

/** mulberry32: small, fast, good enough for sampling; same seed → same answer everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The same mulberry32 stream as raw 32-bit words, written into `out` from `state` (the
 * generator's internal counter); returns the state to continue from. Int32 arithmetic throughout
 * (the same bits as the uint32 form: every step is taken mod 2³²), so V8 keeps the loop on small
 * integers: synthetic checkpoints draw gigabytes of weights with it.
 */
export function mulberry32Words(out: Uint32Array, state: number): number {
  let s = state | 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= (t + Math.imul(t ^ (t >>> 7), t | 61)) | 0;
    out[i] = t ^ (t >>> 14);
  }
  return s;
}

/**
 * A seed from (seed, name), FNV-1a style: synthetic weights draw each tensor's stream from it, so a
 * tensor's values depend only on (seed, name) and tensors can be made in any order, identically.
 */
export function nameSeed(name: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
