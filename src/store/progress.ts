/**
 * Download rate and time left from a stream of LoadProgress samples. Rate over a sliding
 * window (the last few seconds) so that a stall shows up quickly and a burst does not
 * promise a fast finish.
 */
import type { LoadProgress } from '../engine/protocol';
import type { ProgressFigures } from './types';

export interface ProgressSample {
  atMs: number;
  loadedBytes: number;
}

const WINDOW_MS = 3000;

export class ProgressMeter {
  private samples: ProgressSample[] = [];

  /** Feed one progress event seen at `atMs` (performance.now()); returns the figures to show. */
  update(progress: LoadProgress, atMs: number): ProgressFigures {
    const last = this.samples[this.samples.length - 1];
    if (last && progress.loadedBytes < last.loadedBytes) this.samples = []; // a new phase restarted the count
    this.samples.push({ atMs, loadedBytes: progress.loadedBytes });
    while (this.samples.length > 2 && atMs - this.samples[1].atMs > WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const spanMs = atMs - first.atMs;
    const rate =
      this.samples.length >= 2 && spanMs > 0 ? ((progress.loadedBytes - first.loadedBytes) * 1000) / spanMs : null;
    const left = progress.totalBytes - progress.loadedBytes;
    const remainingS = rate && rate > 0 && progress.totalBytes > 0 ? Math.max(0, left / rate) : left === 0 ? 0 : null;
    return { ...progress, rate, remainingS };
  }
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes,
    unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return '< 1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60),
    s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
