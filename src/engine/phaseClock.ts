/**
 * The clock the engine marks between the phases of a request (vision, embed, method begin,
 * each layer, each method hook that acts, head). Phases are contiguous: each mark closes one
 * phase and opens the next, so the phases of a prefill add up to last mark − first mark.
 *
 * - 'gpu-timestamp' (ORT's device has 'timestamp-query'): a mark is a timestamp written on
 *   the GPU queue after everything submitted before it (TimestampMarks, src/gpu/profiler.ts).
 *   Marking never waits: the CPU enqueues layer l+1 while the GPU runs layer l. All marks of a
 *   request are read back once, in `resolve()`, at the end of the request.
 * - 'wall': a mark waits for the queue to drain (`onSubmittedWorkDone`; nothing on wasm) and
 *   reads performance.now(). That serialises CPU and GPU, as the phase times need.
 *
 * Usage per request: reset() → mark() at each boundary → resolve() → span(a, b) in ms.
 */
import { TimestampMarks } from '../gpu/profiler';
import type { GpuDoor } from '../gpu/device';
import type { PhaseTimings } from '../common/trace';

export type ClockKind = PhaseTimings['clock'];

export interface PhaseClock {
  readonly kind: ClockKind;
  /** Start a request's round; marks of an earlier (e.g. cancelled) request are forgotten. */
  reset(): void;
  /** A phase boundary after all work enqueued so far; returns its index. Wall: waits for the GPU. */
  mark(label?: string): Promise<number>;
  /** Resolve the round's marks (GPU: one read-back). Returns ms between two marks (≥ 0). */
  resolve(): Promise<(from: number, to: number) => number>;
  destroy(): void;
}

/** Marks one prefill takes at most: start, vision, embed, begin, per layer (layer + hook), head. */
export const marksPerRequest = (numLayers: number): number => 2 * numLayers + 8;

const spans =
  (times: ArrayLike<number>) =>
  (from: number, to: number): number => {
    if (!(from >= 0 && to < times.length && from <= to))
      throw new RangeError(`phase clock: no span ${from}→${to} among ${times.length} marks`);
    return Math.max(0, times[to] - times[from]);
  };

export class WallPhaseClock implements PhaseClock {
  readonly kind = 'wall' as const;
  private times: number[] = [];
  /** `sync` waits for the GPU queue (TensorOps.sync). */
  constructor(private readonly sync: () => Promise<void>) {}
  reset(): void {
    this.times = [];
  }
  async mark(): Promise<number> {
    await this.sync();
    return this.times.push(performance.now()) - 1;
  }
  async resolve(): Promise<(from: number, to: number) => number> {
    const times = this.times;
    this.times = [];
    return spans(times);
  }
  destroy(): void {}
}

export class GpuPhaseClock implements PhaseClock {
  readonly kind = 'gpu-timestamp' as const;
  private readonly marks: TimestampMarks;
  constructor(door: GpuDoor, capacity: number) {
    this.marks = new TimestampMarks(door, capacity);
  }
  get capacity(): number {
    return this.marks.capacity;
  }
  reset(): void {
    this.marks.reset();
  }
  async mark(label = 'PhaseClock.mark'): Promise<number> {
    return this.marks.mark(label);
  }
  async resolve(): Promise<(from: number, to: number) => number> {
    return spans(await this.marks.resolve());
  }
  destroy(): void {
    this.marks.destroy();
  }
}

/**
 * The clock for a loaded model: GPU timestamps when there is a door on a device with
 * 'timestamp-query' and the caller did not ask for wall time; else wall with `sync`.
 */
export function createPhaseClock(
  door: GpuDoor | null,
  sync: () => Promise<void>,
  numLayers: number,
  prefer: 'auto' | 'wall' = 'auto',
): PhaseClock {
  if (prefer === 'auto' && door?.hasTimestamps) return new GpuPhaseClock(door, marksPerRequest(numLayers));
  return new WallPhaseClock(sync);
}
