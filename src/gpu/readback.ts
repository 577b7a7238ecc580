/**
 * Every GPU → CPU read goes through `read()` and is counted, so the engine's tests can
 * assert how many read-backs a request costs (DESIGN.md: only the trace and the sampled
 * token come back).
 *
 * A read is one submit: the door's pending kernels (if any) with the staging copy appended,
 * then one mapAsync. Staging buffers are kept by exact size and reused (a stage reads the
 * same sizes every request), so a read creates no buffer once warm.
 */
export interface PendingSource {
  /** The unsubmitted encoder to append the copy to (null: none pending). */
  takePending(): GPUCommandEncoder | null;
  /** Called after each submit. */
  submitted(): void;
}

/** Idle staging buffers kept per size. */
const KEEP_PER_SIZE = 4;

export class ReadbackCounter {
  count = 0;
  bytes = 0;
  private staging = new Map<number, GPUBuffer[]>();

  constructor(
    private readonly device: GPUDevice,
    private readonly pending?: PendingSource,
  ) {}

  async read(src: GPUBuffer, offset: number, byteLength: number, label = 'Readback.staging'): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const staging = this.staging.get(size)?.pop() ?? this.device.createBuffer({ label, size, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    staging.label = label;
    const enc = this.pending?.takePending() ?? this.device.createCommandEncoder({ label: 'Readback.encoder' });
    if (byteLength > 0) enc.copyBufferToBuffer(src, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    this.pending?.submitted();
    this.count++;
    this.bytes += byteLength;
    try {
      await staging.mapAsync(0x0001); // GPUMapMode.READ
    } catch (e) {
      staging.destroy();
      throw e;
    }
    const out = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    const idle = this.staging.get(size) ?? [];
    if (idle.length < KEEP_PER_SIZE) {
      idle.push(staging);
      this.staging.set(size, idle);
    } else staging.destroy();
    return out;
  }

  /** Destroy idle staging buffers. */
  trim(): void {
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }
}
