/**
 * The few tensor moves the engine does itself, on ORT's GPU device or on the CPU (wasm
 * fallback). All are row copies of contiguous blocks, so on the GPU they are
 * `copyBufferToBuffer` commands: no shader, no read-back, hidden stays on the device.
 *
 * Tensors here are ORT tensors [1, rows, D] (activation dtype); rows are the sequence axis.
 */
import type { BufferCopy, GpuDoor } from '../gpu/device';
import type { Ort, OrtTensor } from './ortEnv';

export interface RowBlock {
  tensor: OrtTensor;
  fromRow: number;
  rows: number;
}

export interface TensorOps {
  readonly onGpu: boolean;
  /**
   * Concatenate row blocks into a new tensor [1, Σrows, D] (or `dims`, the same elements in
   * another shape: a KV cache [1,Hkv,P,hd] is Hkv·P rows of hd). The caller owns (disposes) it.
   */
  concatRows(blocks: RowBlock[], width: number, dims?: number[]): OrtTensor;
  /**
   * int64 [1, n] ids (positions) where the graphs read them. On the GPU a buffer written with
   * `writeBuffer`: handed a CPU tensor, onnxruntime-web makes a mapped staging buffer and a
   * submit of its own for every run (measured on an H100 with Dawn: ~0.5 ms each, the largest
   * part of a decode layer run). The caller owns (disposes) it, after the run's work is submitted.
   */
  ids(values: ArrayLike<number>): OrtTensor;
  /** Wait until the GPU finished what was submitted (for wall-clock phase timings). */
  sync(): Promise<void>;
}

const int64s = (values: ArrayLike<number>) => BigInt64Array.from(Array.from(values), (v) => BigInt(v));

const bytesPer = (t: OrtTensor) => (t.type === 'float16' ? 2 : 4);
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * On onnxruntime's device, through the GPU door (../gpu/device.ts): buffers from its pool
 * (given back when onnxruntime disposes the tensor), copies encoded into its pending encoder
 * and submitted with whatever kernels are pending there, one submit.
 */
export class GpuTensorOps implements TensorOps {
  readonly onGpu = true;
  /** Door buffers handed out here and not yet disposed: the leak test reads it. */
  liveBuffers = 0;
  constructor(
    private readonly ort: Ort,
    private readonly door: GpuDoor,
  ) {}

  concatRows(blocks: RowBlock[], width: number, dims?: number[]): OrtTensor {
    const type = blocks[0].tensor.type as 'float32' | 'float16';
    const elementBytes = bytesPer(blocks[0].tensor);
    const rows = blocks.reduce((sum, block) => sum + block.rows, 0);
    const buffer = this.door.acquire(align16(rows * width * elementBytes), 'Engine.concatRows');
    const copies: BufferCopy[] = [];
    let at = 0;
    for (const block of blocks) {
      const bytes = block.rows * width * elementBytes;
      copies.push({
        from: block.tensor.gpuBuffer,
        fromOffset: block.fromRow * width * elementBytes,
        to: buffer,
        toOffset: at,
        bytes,
      });
      at += bytes;
    }
    this.door.copy(copies);
    this.door.flush(); // the buffer leaves for onnxruntime, which submits on the same queue
    return this.handOut(buffer, type, dims ?? [1, rows, width]);
  }

  ids(values: ArrayLike<number>): OrtTensor {
    return this.handOut(this.door.upload(int64s(values), 'Engine.ids'), 'int64', [1, values.length]);
  }

  sync(): Promise<void> {
    return this.door.device.queue.onSubmittedWorkDone();
  }

  private handOut(buffer: GPUBuffer, dataType: 'float32' | 'float16' | 'int64', dims: number[]): OrtTensor {
    this.liveBuffers += 1;
    return this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType,
      dims,
      dispose: () => {
        this.door.release(buffer);
        this.liveBuffers -= 1;
      },
    });
  }
}

export class CpuTensorOps implements TensorOps {
  readonly onGpu = false;
  constructor(private readonly ort: Ort) {}

  concatRows(blocks: RowBlock[], width: number, dims?: number[]): OrtTensor {
    const type = blocks[0].tensor.type as 'float32' | 'float16';
    const rows = blocks.reduce((s, b) => s + b.rows, 0);
    const out = type === 'float16' ? new Uint16Array(rows * width) : new Float32Array(rows * width);
    let at = 0;
    for (const b of blocks) {
      const src = b.tensor.data as Float32Array | Uint16Array;
      out.set(src.subarray(b.fromRow * width, (b.fromRow + b.rows) * width), at);
      at += b.rows * width;
    }
    return new this.ort.Tensor(type, out, dims ?? [1, rows, width]);
  }

  ids(values: ArrayLike<number>): OrtTensor {
    return new this.ort.Tensor('int64', int64s(values), [1, values.length]);
  }

  async sync(): Promise<void> {}
}
