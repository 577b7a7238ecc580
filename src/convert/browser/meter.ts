/**
 * Rate and time left for a progress line: bytes per second over a sliding window of recent
 * samples (so a stall shows as a falling rate, not an average over the whole download).
 */
export interface RateFigures {
  /** Bytes per second, null until the window spans some time. */
  rate: number | null;
  /** Seconds left at that rate, null when unknown. */
  etaS: number | null;
}

export class RateMeter {
  private readonly samples: { t: number; bytes: number }[] = [];
  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records `done` bytes out of `total` and returns the figures. */
  update(done: number, total: number): RateFigures {
    const t = this.now();
    this.samples.push({ t, bytes: done });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const span = (t - first.t) / 1000;
    if (span < 0.2 || done < first.bytes) return { rate: null, etaS: null };
    const rate = (done - first.bytes) / span;
    return { rate, etaS: rate > 0 ? Math.max(0, total - done) / rate : null };
  }

  /** Forget history (a resumed download must not count the bytes already on disk as speed). */
  reset(): void {
    this.samples.length = 0;
  }
}
