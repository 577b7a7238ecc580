/**
 * Kernel timing for the benchmark's "sparsification kernel time". Two clocks:
 * - wall: `measureWall` awaits the queue, runs the submits, awaits onSubmittedWorkDone;
 * - gpu-timestamp: when the device has 'timestamp-query', every wrapper pass writes begin/end
 *   timestamps (up to `capacity` passes between collects); `collect()` resolves and reads them
 *   back (one counted read-back) and sums ms per owner.
 * (GPU.md: Dawn's timestamps are coarse; warm the GPU before timing.)
 */
import type { GpuDoor } from './device';

export async function measureWall<T>(device: GPUDevice, fn: () => T | Promise<T>): Promise<{ result: T; ms: number }> {
  await device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  const result = await fn();
  await device.queue.onSubmittedWorkDone();
  return { result, ms: performance.now() - t0 };
}

export class GpuProfiler {
  private querySet: GPUQuerySet | null = null;
  private resolveBuf: GPUBuffer | null = null;
  private owners: string[] = [];

  constructor(
    private readonly door: GpuDoor,
    private readonly capacity = 256,
  ) {
    if (door.hasTimestamps) {
      this.querySet = door.device.createQuerySet({ label: 'GpuProfiler.querySet', type: 'timestamp', count: capacity * 2 });
      this.resolveBuf = door.device.createBuffer({ label: 'GpuProfiler.resolve', size: capacity * 16, usage: 0x0200 | 0x0004 }); // QUERY_RESOLVE | COPY_SRC
    }
  }

  get clock(): 'gpu-timestamp' | 'wall' {
    return this.querySet ? 'gpu-timestamp' : 'wall';
  }

  timestampWrites(owner: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet || this.owners.length >= this.capacity) return undefined;
    const i = this.owners.push(owner) - 1;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** ms per owner since the last collect (summed over passes); resets. One counted read-back. */
  async collect(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (!this.querySet || !this.resolveBuf || this.owners.length === 0) return out;
    const count = this.owners.length;
    const enc = this.door.device.createCommandEncoder({ label: 'GpuProfiler.encoder' });
    enc.resolveQuerySet(this.querySet, 0, 2 * count, this.resolveBuf, 0);
    this.door.device.queue.submit([enc.finish()]);
    const bytes = await this.door.readbacks.read(this.resolveBuf, 0, count * 16, 'GpuProfiler.staging');
    const ticks = new BigInt64Array(bytes);
    this.owners.forEach((owner, i) => {
      const ns = Number(ticks[2 * i + 1] - ticks[2 * i]);
      out[owner] = (out[owner] ?? 0) + Math.max(0, ns) / 1e6;
    });
    this.owners = [];
    return out;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuf?.destroy();
  }
}
