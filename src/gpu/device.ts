/**
 * The one door to the GPU (STYLE.md rule 3). In the app the device is ORT's own
 * (`await ort.env.webgpu.device` after the first WebGPU session exists: a device of our
 * own could not share buffers with ORT); tests hand in a Dawn device. The door checks the
 * limits our kernels need, routes device loss and uncaptured errors to one listener, and
 * owns the buffer pool and the read-back counter.
 */
import { BufferPool } from './pool';
import { ReadbackCounter } from './readback';

/** Limits the kernels in shaders/ rely on (all at or below WebGPU's defaults). */
export const REQUIRED_LIMITS = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 8,
} as const;

/** Size of each uniform slot (every kernel's parameter block fits). */
const UNIFORM_SLOT_BYTES = 256;

export type GpuFault = { kind: 'lost'; reason: string; message: string } | { kind: 'uncaptured'; message: string };

export class GpuDoorError extends Error {
  constructor(
    readonly limit: string,
    readonly required: number,
    readonly got: number,
  ) {
    super(`GPU device: ${limit} must be ≥ ${required}, got ${got}`);
    this.name = 'GpuDoorError';
  }
}

/** One `copyBufferToBuffer`: `bytes` from `from` at `fromOffset` to `to` at `toOffset` (offsets and size multiples of 4). */
export interface BufferCopy {
  from: GPUBuffer;
  fromOffset: number;
  to: GPUBuffer;
  toOffset: number;
  bytes: number;
}

export interface GpuDoorOptions {
  /** Receives device loss and uncaptured validation/OOM errors. Default: console.error. */
  onFault?: (fault: GpuFault) => void;
}

export class GpuDoor {
  readonly pool: BufferPool;
  readonly readbacks: ReadbackCounter;
  /** Our submits (flushes of the pending encoder), for the structural-count tests. */
  submits = 0;
  /**
   * Kernels encode into one pending command encoder (`encoder()`); it is submitted by
   * `flush()`: before every read-back (which appends its copy to it), when a buffer leaves for
   * ORT (`GpuPruneBackend.bufferOf`), and at the latest in the next macrotask after the first
   * command (a safety net: awaits between kernels of one stage do not split the submit, but no
   * pending work outlives the turn of the event loop that encoded it).
   */
  private pending: GPUCommandEncoder | null = null;
  /**
   * Uniform buffers by position in the pending batch: the k-th uniform of a batch is always
   * the same buffer, so a stage that repeats finds its bind groups cached (KernelRunner).
   * Reset at each submit: the queue orders the next batch's writeBuffer after it.
   */
  private uniforms: GPUBuffer[] = [];
  private uniformsUsed = 0;
  /** Whether compute passes can carry timestamp writes. */
  readonly hasTimestamps: boolean;
  private faultListener: (fault: GpuFault) => void;

  constructor(
    readonly device: GPUDevice,
    opts: GpuDoorOptions = {},
  ) {
    for (const [name, required] of Object.entries(REQUIRED_LIMITS)) {
      const got = (device.limits as unknown as Record<string, number>)[name];
      if (got < required) throw new GpuDoorError(name, required, got);
    }
    this.faultListener = opts.onFault ?? ((f) => console.error('GPU fault', f));
    this.hasTimestamps = device.features.has('timestamp-query');
    this.pool = new BufferPool(device);
    this.readbacks = new ReadbackCounter(device, this);
    void device.lost.then((info) => this.faultListener({ kind: 'lost', reason: info.reason, message: info.message }));
    const onError = (ev: Event) =>
      this.faultListener({ kind: 'uncaptured', message: (ev as GPUUncapturedErrorEvent).error.message });
    if (typeof device.addEventListener === 'function') device.addEventListener('uncapturederror', onError);
    else (device as { onuncapturederror: unknown }).onuncapturederror = onError;
  }

  /** The pending command encoder (created on first use; submitted by `flush`). */
  encoder(): GPUCommandEncoder {
    if (!this.pending) {
      this.pending = this.device.createCommandEncoder({ label: 'GpuDoor.pending' });
      // Pool releases wait for the submit: a buffer released now may still be read or
      // written by a command in the pending encoder, and a writeBuffer into it after reuse
      // would land before that command runs.
      this.pool.deferReleases(true);
      setTimeout(() => this.flush(), 0);
    }
    return this.pending;
  }

  /** Whether commands are encoded and not yet submitted. */
  get hasPending(): boolean {
    return this.pending !== null;
  }

  /** Submit the pending encoder, if any; then the deferred pool releases take effect. */
  flush(): void {
    const enc = this.takePending();
    if (!enc) return;
    this.device.queue.submit([enc.finish()]);
    this.submitted();
  }

  /**
   * The pending encoder for a caller that appends its own commands and submits it at once
   * (a read-back: one submit for a stage's kernels and its copy), then calls `submitted()`.
   */
  takePending(): GPUCommandEncoder | null {
    const enc = this.pending;
    this.pending = null;
    return enc;
  }

  /** After every submit of ours. */
  submitted(): void {
    this.submits++;
    if (!this.pending) {
      this.pool.deferReleases(false);
      this.uniformsUsed = 0;
    }
  }

  /** A uniform buffer (256 B) for the next kernel of the pending batch; owned by the door, never released. */
  uniformSlot(bytes: number): GPUBuffer {
    if (bytes > UNIFORM_SLOT_BYTES)
      throw new RangeError(
        `GpuDoor.uniformSlot: a uniform block of ${bytes} bytes exceeds the ${UNIFORM_SLOT_BYTES}-byte slot`,
      );
    let buf = this.uniforms[this.uniformsUsed];
    if (!buf) {
      buf = this.device.createBuffer({
        label: `GpuDoor.uniform${this.uniformsUsed}`,
        size: UNIFORM_SLOT_BYTES,
        usage: 0x40 | 0x08,
      }); // UNIFORM | COPY_DST
      this.uniforms.push(buf);
    }
    this.uniformsUsed++;
    return buf;
  }

  /**
   * A storage buffer of at least `bytes` (the pool's size class) for data that leaves for
   * onnxruntime (`ort.Tensor.fromGpuBuffer`) or stays ours. Give it back with `release`, from
   * the tensor's dispose, once the run that reads it is submitted; until the door's pending
   * commands are submitted the pool holds it back, so reuse never overtakes a pending read.
   */
  acquire(bytes: number, label: string): GPUBuffer {
    return this.pool.acquire(bytes, label);
  }

  release(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /**
   * `data` in a pool buffer (`queue.writeBuffer`: no mapped staging buffer, ordered before every
   * later submit). `data.byteLength` must be a multiple of 4.
   */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buffer = this.pool.acquire(data.byteLength, label);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /**
   * Byte ranges copied between buffers, encoded into the pending encoder after the kernels
   * already there (so a copy reads what they wrote). `flush()` before the destination leaves
   * for onnxruntime.
   */
  copy(copies: readonly BufferCopy[]): void {
    const enc = this.encoder();
    for (const c of copies) if (c.bytes > 0) enc.copyBufferToBuffer(c.from, c.fromOffset, c.to, c.toOffset, c.bytes);
  }

  set onFault(listener: (fault: GpuFault) => void) {
    this.faultListener = listener;
  }

  /** ORT's device: `ort.env.webgpu.device` resolves once the first WebGPU session exists. */
  static async fromOrt(
    ortEnvWebgpu: { device: Promise<GPUDevice> | GPUDevice },
    opts?: GpuDoorOptions,
  ): Promise<GpuDoor> {
    return new GpuDoor(await ortEnvWebgpu.device, opts);
  }

  /** Largest single storage binding, for the kernels' size checks. */
  get maxBinding(): number {
    return this.device.limits.maxStorageBufferBindingSize;
  }
}
