/**
 * Shared pieces of the kernel tests: a GPU backend on Dawn, the CPU backend, seeded
 * random data, and comparisons that print the first mismatches (STYLE.md: llm.c habit).
 */
import { expect } from 'vitest';
import { GpuPruneBackend } from '../../prune/gpuBackend';
import { dawnDoor } from './dawn';
import { seededRandom } from '../../common/random';

export async function gpuBackend() {
  const { door, faults } = await dawnDoor();
  return { be: new GpuPruneBackend(door), door, faults };
}

/** Seeded test data: the engine's own PRNG (mulberry32). */
export const rng = seededRandom;

export function gaussian(count: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** |got − want| ≤ rel·|want| + abs for every element; reports the first 5 mismatches. */
export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-5, abs = 0): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  const bad: string[] = [];
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    const allowed = rel * Math.abs(want[i]) + abs;
    if (!(err <= allowed)) {
      if (bad.length < 5) bad.push(`[${i}] got ${got[i]} want ${want[i]} (err ${err.toExponential(2)})`);
    }
    if (want[i] !== 0) worst = Math.max(worst, err / Math.abs(want[i]));
  }
  expect(bad, `${name}: worst relative error ${worst.toExponential(2)}; first mismatches`).toEqual([]);
}
