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
      this.querySet = door.device.createQuerySet({
        label: 'GpuProfiler.querySet',
        type: 'timestamp',
        count: capacity * 2,
      });
      this.resolveBuf = door.device.createBuffer({
        label: 'GpuProfiler.resolve',
        size: capacity * 16,
        usage: 0x0200 | 0x0004,
      }); // QUERY_RESOLVE | COPY_SRC
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

/** More marks than the query set holds: the caller sized it too small for the request. */
export class TimestampMarksFullError extends Error {
  constructor(readonly capacity: number) {
    super(`TimestampMarks: all ${capacity} marks of this round are used; size the query set for the request`);
    this.name = 'TimestampMarksFullError';
  }
}

/**
 * Points on the GPU timeline, in queue order with everything else submitted on the device
 * (ORT's work included). A mark is an empty compute pass whose end-of-pass timestamp is
 * written once all previously submitted work has finished (end-of-pass = bottom of the pipe on
 * Vulkan/D3D12/Metal; a beginning-of-pass write could run ahead of earlier work), submitted on
 * its own. No read-back until `resolve()`, which reads every mark of the round at once (one
 * counted read-back of count × 8 bytes). Requires the device's 'timestamp-query' feature.
 *
 * What the difference of two marks means: the time the GPU timeline advanced between them —
 * the GPU work submitted between them plus any time the GPU sat idle waiting for the CPU to
 * submit it. Dawn may quantise timestamps (Chromium: 100 µs) and the GPU may start at low clocks.
 */
export class TimestampMarks {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private count = 0;

  constructor(
    private readonly door: GpuDoor,
    readonly capacity: number,
  ) {
    if (!door.hasTimestamps) throw new Error("TimestampMarks needs the device's 'timestamp-query' feature");
    this.querySet = door.device.createQuerySet({
      label: 'TimestampMarks.querySet',
      type: 'timestamp',
      count: capacity,
    });
    this.resolveBuf = door.device.createBuffer({
      label: 'TimestampMarks.resolve',
      size: Math.ceil((capacity * 8) / 256) * 256,
      usage: 0x0200 | 0x0004,
    }); // QUERY_RESOLVE | COPY_SRC
  }

  /** Marks taken in this round. */
  get taken(): number {
    return this.count;
  }

  /** Start a new round (earlier marks are forgotten, resolved or not). */
  reset(): void {
    this.count = 0;
  }

  /** Enqueue a mark after everything submitted so far; returns its index in the round. */
  mark(label = 'TimestampMarks.mark'): number {
    if (this.count >= this.capacity) throw new TimestampMarksFullError(this.capacity);
    const i = this.count++;
    this.door.flush(); // our kernels' pending encoder first, so the mark comes after them
    const enc = this.door.device.createCommandEncoder({ label });
    enc.beginComputePass({ label, timestampWrites: { querySet: this.querySet, endOfPassWriteIndex: i } }).end();
    this.door.device.queue.submit([enc.finish()]);
    return i;
  }

  /**
   * Every mark of the round in ms after mark 0 (mark 0 reads 0; a mark the GPU stamped earlier
   * than mark 0, which coarse timestamps can do, reads 0 too). One counted read-back; ends the round.
   */
  async resolve(): Promise<Float64Array> {
    const n = this.count;
    this.count = 0;
    if (n === 0) return new Float64Array(0);
    const enc = this.door.device.createCommandEncoder({ label: 'TimestampMarks.resolve' });
    enc.resolveQuerySet(this.querySet, 0, n, this.resolveBuf, 0);
    this.door.device.queue.submit([enc.finish()]);
    const ticks = new BigInt64Array(
      await this.door.readbacks.read(this.resolveBuf, 0, n * 8, 'TimestampMarks.staging'),
    );
    return Float64Array.from(ticks, (t) => Math.max(0, Number(t - ticks[0])) / 1e6);
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
  }
}
