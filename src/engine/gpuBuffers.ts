/**
 * GPU buffers the engine binds to captured graphs (weights, fixed KV caches, the vision input),
 * made so that onnxruntime-web keeps them imported across runs.
 */
import { GraphBuilder } from '../onnx/builder';
import type { Ort, OrtSession, OrtTensor } from './ortEnv';

/**
 * GPU buffers the engine binds to captured graphs, allocated by onnxruntime itself: a tiny
 * Identity session uploads the bytes and we keep its output tensor. Why not `createBuffer`:
 * onnxruntime-web imports a buffer of ours afresh for every run and drops the import when the
 * run ends, but a session with `enableGraphCapture` binds its inputs once (first run) and
 * keeps using those imports, which are gone by its next run ("no overload matched for
 * createBindGroup … resource" on the capture run, Dawn, 2026-12-02). Buffers onnxruntime
 * allocated stay imported for as long as their tensor lives (ort-wasm `webgpuRegisterBuffer`
 * with a data pointer: no reference count). Contents are copied as int32 words (bit-exact).
 */
export class GpuBuffers {
  /** Tensors made here and not yet disposed (the leak tests read it). */
  live = 0;
  private constructor(
    readonly ort: Ort,
    readonly device: GPUDevice,
    private readonly identity: OrtSession,
  ) {}

  static async create(ort: Ort, device: GPUDevice): Promise<GpuBuffers> {
    const g = new GraphBuilder('engine_alloc');
    g.input('x', 'int32', ['N']);
    g.node('Identity', ['x'], { outputs: ['y'] });
    g.output('y', 'int32', ['N']);
    const session = await ort.InferenceSession.create(g.serialize().model, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: { y: 'gpu-buffer' },
    });
    return new GpuBuffers(ort, device, session);
  }

  /**
   * A GPU buffer holding `data` (zeros when null) of at least `byteLength` bytes, as an ORT
   * tensor of `type`/`dims`; disposing it hands the buffer back to onnxruntime.
   */
  async tensor(
    type: 'float32' | 'float16' | 'uint8' | 'int64' | 'uint32',
    dims: number[],
    data: ArrayBufferView | null,
    byteLength: number,
    label: string,
  ): Promise<{ buffer: GPUBuffer; tensor: OrtTensor }> {
    const words = new Int32Array(Math.max(4, Math.ceil(byteLength / 4)));
    if (data) new Uint8Array(words.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const out = (await this.identity.run({ x: new this.ort.Tensor('int32', words, [words.length]) })).y;
    if (out.location !== 'gpu-buffer') {
      out.dispose();
      throw new Error(`${label}: onnxruntime put the engine's buffer on ${out.location}, not the GPU`);
    }
    this.live += 1;
    let gone = false;
    const buffer = out.gpuBuffer;
    const tensor = this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType: type as 'float32',
      dims,
      dispose: () => {
        if (!gone) {
          gone = true;
          out.dispose();
          this.live -= 1;
        }
      },
    });
    return { buffer, tensor };
  }

  async release(): Promise<void> {
    await this.identity.release().catch(() => {});
  }
}
