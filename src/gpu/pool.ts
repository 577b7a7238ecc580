/**
 * Buffer pool: storage buffers (STORAGE | COPY_SRC | COPY_DST) reused by exact size class,
 * so a request's scratch and outputs do not churn allocations. Reuse right after release
 * is safe because every use is ordered on the one queue (a later writeBuffer or dispatch
 * cannot affect an earlier submit). Counters let tests assert that N requests leave the
 * pool where it was.
 */
const STORAGE = 0x80 | 0x04 | 0x08; // GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST
const UNIFORM = 0x40 | 0x08; // GPUBufferUsage.UNIFORM | COPY_DST

/** Size classes: multiples of 256 B up to 64 KiB, then powers of two / 4 steps. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.ceil(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Buffers idle in the pool. */
  freeBuffers: number;
  freeBytes: number;
  /** Buffers ever created by the pool. */
  created: number;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  private stats = { liveBytes: 0, freeBytes: 0, freeBuffers: 0, created: 0 };
  /** Releases held back while the door has unsubmitted commands (they may use these buffers). */
  private deferred: GPUBuffer[] | null = null;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, label: string, kind: 'storage' | 'uniform' = 'storage'): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${kind}:${size}`;
    let buf = this.free.get(key)?.pop();
    if (buf) {
      this.stats.freeBuffers--;
      this.stats.freeBytes -= size;
      buf.label = label;
    } else {
      buf = this.device.createBuffer({ label, size, usage: kind === 'storage' ? STORAGE : UNIFORM });
      this.stats.created++;
    }
    this.live.add(buf);
    this.stats.liveBytes += size;
    return buf;
  }

  /** Whether the pool handed out this buffer (ORT's buffers wrapped as tensors are not ours). */
  owns(buf: GPUBuffer): boolean {
    return this.live.has(buf);
  }

  /**
   * While on, `release` only records the buffer; turning it off (after the submit) returns
   * them all. Stats count them as live until then.
   */
  deferReleases(on: boolean): void {
    if (on) {
      this.deferred ??= [];
      return;
    }
    const held = this.deferred;
    this.deferred = null;
    if (held) for (const b of held) this.release(b);
  }

  release(buf: GPUBuffer): void {
    if (this.deferred) {
      if (this.live.has(buf) && !this.deferred.includes(buf)) this.deferred.push(buf);
      return;
    }
    if (!this.live.delete(buf)) return;
    const kind = buf.usage & 0x40 ? 'uniform' : 'storage';
    const key = `${kind}:${buf.size}`;
    const list = this.free.get(key) ?? [];
    list.push(buf);
    this.free.set(key, list);
    this.stats.liveBytes -= buf.size;
    this.stats.freeBuffers++;
    this.stats.freeBytes += buf.size;
  }

  /** Destroy idle buffers (e.g. after a model is unloaded). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.freeBuffers = 0;
    this.stats.freeBytes = 0;
  }

  snapshot(): PoolStats {
    return { liveBuffers: this.live.size, ...this.stats };
  }
}
