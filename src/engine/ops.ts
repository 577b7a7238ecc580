/**
 * The few tensor moves the engine does itself, on ORT's GPU device or on the CPU (wasm
 * fallback). All are row copies of contiguous blocks, so on the GPU they are
 * `copyBufferToBuffer` commands: no shader, no read-back, hidden stays on the device.
 *
 * Tensors here are ORT tensors [1, rows, D] (activation dtype); rows are the sequence axis.
 */
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

export class GpuTensorOps implements TensorOps {
  readonly onGpu = true;
  /** Live buffers made here (not ORT's): the leak test reads it. */
  liveBuffers = 0;
  constructor(
    private readonly ort: Ort,
    private readonly device: GPUDevice,
  ) {}

  concatRows(blocks: RowBlock[], width: number, dims?: number[]): OrtTensor {
    const type = blocks[0].tensor.type as 'float32' | 'float16';
    const el = bytesPer(blocks[0].tensor);
    const rows = blocks.reduce((s, b) => s + b.rows, 0);
    const buffer = this.device.createBuffer({
      label: 'Engine.concatRows',
      size: align16(Math.max(1, rows * width * el)),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.liveBuffers += 1;
    const enc = this.device.createCommandEncoder({ label: 'Engine.concatRows' });
    let at = 0;
    for (const b of blocks) {
      const size = b.rows * width * el;
      if (size > 0) enc.copyBufferToBuffer(b.tensor.gpuBuffer, b.fromRow * width * el, buffer, at, size);
      at += size;
    }
    this.device.queue.submit([enc.finish()]);
    return this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType: type,
      dims: dims ?? [1, rows, width],
      dispose: () => {
        buffer.destroy();
        this.liveBuffers -= 1;
      },
    });
  }

  ids(values: ArrayLike<number>): OrtTensor {
    const data = int64s(values);
    const buffer = this.device.createBuffer({
      label: 'Engine.ids',
      size: align16(Math.max(1, data.byteLength)),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    this.liveBuffers += 1;
    this.device.queue.writeBuffer(buffer, 0, data);
    return this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType: 'int64',
      dims: [1, values.length],
      dispose: () => {
        buffer.destroy();
        this.liveBuffers -= 1;
      },
    });
  }

  sync(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
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
