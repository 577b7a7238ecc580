import type { KernelRunner, KernelSpec } from '../runner';
import { groups1d } from '../runner';
import { checkKvWrite, type KvWriteShape } from './kv_write.reference';

/** The fixed buffers of one cache write (a layer's decode step, or a prefill's load). */
export interface KvWriteBuffers {
  /** u32 slots; the write starts at row slots[slotIndex]. */
  slots: GPUBuffer;
  srcK: GPUBuffer;
  srcV: GPUBuffer;
  dstK: GPUBuffer;
  dstV: GPUBuffer;
  /** f32 additive mask over the cache rows (0 = visible). */
  bias: GPUBuffer;
}

/**
 * Wrapper of shaders/kv_write.wgsl: new key/value rows into a fixed-capacity cache and their
 * mask slots opened. The decode path (engine/capturedDecode.ts) records one dispatch per layer
 * with fixed buffers and a fixed uniform (`params`), so a token costs one `slots` upload.
 */
export class KvWrite {
  static readonly owner = 'KvWrite';
  private static readonly spec = {
    shader: 'kv_write',
    entry: 'main',
    bindings: ['uniform', 'read', 'read', 'read', 'write', 'write', 'write'],
  } as const;

  static specs(): KernelSpec[] {
    return [KvWrite.spec];
  }

  constructor(private readonly runner: KernelRunner) {}

  /** A uniform of its own (not the door's per-batch slot): the caller keeps and destroys it. */
  params(shape: Omit<KvWriteShape, 'at'>, slotIndex: number): GPUBuffer {
    const buf = this.runner.device.createBuffer({
      label: `${KvWrite.owner}.params`,
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.runner.device.queue.writeBuffer(
      buf,
      0,
      Uint32Array.of(shape.W, shape.heads, shape.srcRows, shape.dstRows, shape.n, slotIndex, 0, 0),
    );
    return buf;
  }

  /** Encode one write into `pass` (the caller has checked the shape against its slots). */
  encode(
    pass: GPUComputePassEncoder,
    params: GPUBuffer,
    buffers: KvWriteBuffers,
    shape: Omit<KvWriteShape, 'at'>,
  ): void {
    const count = shape.heads * shape.n * shape.W;
    if (count > 0)
      this.runner.dispatch(
        pass,
        KvWrite.spec,
        [params, buffers.slots, buffers.srcK, buffers.srcV, buffers.dstK, buffers.dstV, buffers.bias],
        groups1d(count, 256),
      );
  }

  /** One write at row `at` now (its own pass, submitted at once); `slots` is overwritten. */
  run(buffers: KvWriteBuffers, shape: KvWriteShape): void {
    checkKvWrite(shape);
    const { runner } = this;
    runner.device.queue.writeBuffer(buffers.slots, 0, Uint32Array.of(shape.at));
    const params = this.params(shape, 0);
    runner.run(KvWrite.owner, (pass) => this.encode(pass, params, buffers, shape));
    runner.door.flush();
    params.destroy(); // destroyed after the submit: the queued work keeps it alive
  }
}
