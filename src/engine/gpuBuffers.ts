/**
 * GPU buffers the engine binds to captured graphs (weights, fixed KV caches, the vision input),
 * made so that onnxruntime-web keeps them imported across runs.
 */
import { GraphBuilder } from '../onnx/builder';
import type { Ort, OrtSession, OrtTensor } from './ortEnv';

/**
 * GPU buffers the engine binds to captured graphs, as ORT tensors that stay imported into
 * onnxruntime-web for as long as they live.
 *
 * The problem: onnxruntime-web imports a buffer of ours afresh for every run and drops the import
 * when the run ends (ort-wasm `webgpuRegisterBuffer` / `webgpuUnregisterBuffer`, a reference
 * count kept on the GPUBuffer under a private symbol), but a session with `enableGraphCapture`
 * binds its inputs once (first run) and keeps using those imports, which are gone by its next run
 * ("no overload matched for createBindGroup … resource" on the capture run, Dawn, 2026-12-02).
 *
 * Two ways to get a buffer that stays imported, tried in this order:
 * - **exact** (default): our own `createBuffer` of the exact size (16-byte aligned), with the
 *   import pinned: the reference count onnxruntime-web keeps on the buffer is held one above its
 *   own count, so its unregister after each run never drops the import and every run sees the
 *   same data pointer. The count lives under a symbol we learn from a buffer onnxruntime made
 *   (its description is `gpuBufferMetadata`), and the pin is an accessor on that key that adds
 *   one when onnxruntime stores a fresh count. Each buffer is imported once at creation (a
 *   16-byte Identity run) and checked: if the pin did not take (a onnxruntime-web whose glue
 *   differs), the allocator falls back to the second way for good and says why (`exactReason`).
 *   Why bother: onnxruntime's own allocations come from its bucketed buffer cache
 *   (`buffer_manager.cc`: 22.5 MB → 25 MiB, 5.6 → 8 MiB), ~0.7 GiB of rounding over a 7B q4
 *   model's lifted weights that a plain session's exact-size initializers do not have.
 * - **onnxruntime's own**: a tiny Identity session uploads the bytes and we keep its output
 *   tensor; buffers onnxruntime allocated stay imported while their tensor lives
 *   (`webgpuRegisterBuffer` with a data pointer: no reference count). Contents are copied as
 *   int32 words (bit-exact).
 *
 * Freeing an exact buffer: `dispose()` (synchronous, as ORT tensors are) takes the pin off and
 * hands the buffer to `sweep()`, which the next `tensor()` or `release()` runs: one more 16-byte
 * Identity run drops the import (the count reaches 0 there), then `destroy()`. Until then the
 * bytes stay allocated; nothing else may use the tensor.
 */
const METADATA_SYMBOL = 'gpuBufferMetadata';
/** STORAGE | COPY_SRC | COPY_DST, what onnxruntime gives its own storage buffers. */
const STORAGE_USAGE = 0x80 | 0x04 | 0x08;

/** onnxruntime-web's per-buffer import record: [data pointer, reference count]. */
type ImportRecord = [number, number];

export class GpuBuffers {
  /** Tensors made here and not yet disposed (the leak tests read it). */
  live = 0;
  /** Exact buffers disposed but still imported, freed by the next sweep. */
  private retired: { buffer: GPUBuffer; unpin: () => void }[] = [];
  /** Why buffers come from onnxruntime's cache instead of exact ones (null while exact). */
  exactReason: string | null;
  private constructor(
    readonly ort: Ort,
    readonly device: GPUDevice,
    private readonly identity: OrtSession,
    private importKey: symbol | null,
    reason: string | null,
  ) {
    this.exactReason = reason;
  }

  /** `exact: false` keeps every buffer in onnxruntime's cache (the older way; tests compare). */
  static async create(ort: Ort, device: GPUDevice, opts: { exact?: boolean } = {}): Promise<GpuBuffers> {
    const g = new GraphBuilder('engine_alloc');
    g.input('x', 'int32', ['N']);
    g.node('Identity', ['x'], { outputs: ['y'] });
    g.output('y', 'int32', ['N']);
    const session = await ort.InferenceSession.create(g.serialize().model, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: { y: 'gpu-buffer' },
    });
    if (opts.exact === false) return new GpuBuffers(ort, device, session, null, 'exact buffers turned off');
    // Learn the key onnxruntime-web keeps its import record under, from a buffer it made.
    const probe = (await session.run({ x: new ort.Tensor('int32', new Int32Array(4), [4]) })).y;
    const key =
      probe.location === 'gpu-buffer'
        ? Object.getOwnPropertySymbols(probe.gpuBuffer).find((k) => k.description === METADATA_SYMBOL)
        : undefined;
    probe.dispose();
    const reason = key ? null : `onnxruntime-web keeps no '${METADATA_SYMBOL}' record on its buffers`;
    return new GpuBuffers(ort, device, session, key ?? null, reason);
  }

  /** Whether buffers are exact-size ones of ours (else onnxruntime's bucketed ones). */
  get exact(): boolean {
    return this.importKey !== null;
  }

  /**
   * A GPU buffer holding `data` (zeros when null) of at least `byteLength` bytes, as an ORT
   * tensor of `type`/`dims`; disposing it frees the buffer (exact) or hands it back to
   * onnxruntime.
   */
  async tensor(
    type: 'float32' | 'float16' | 'uint8' | 'int64' | 'uint32',
    dims: number[],
    data: ArrayBufferView | null,
    byteLength: number,
    label: string,
  ): Promise<{ buffer: GPUBuffer; tensor: OrtTensor }> {
    await this.sweep();
    if (this.importKey) {
      const made = await this.exactTensor(this.importKey, type, dims, data, byteLength, label);
      if (made) return made;
    }
    return this.ortTensor(type, dims, data, byteLength, label);
  }

  private async exactTensor(
    key: symbol,
    type: 'float32' | 'float16' | 'uint8' | 'int64' | 'uint32',
    dims: number[],
    data: ArrayBufferView | null,
    byteLength: number,
    label: string,
  ): Promise<{ buffer: GPUBuffer; tensor: OrtTensor } | null> {
    const size = Math.max(16, Math.ceil(byteLength / 16) * 16);
    const buffer = this.device.createBuffer({ label, size, usage: STORAGE_USAGE, mappedAtCreation: data !== null });
    if (data) {
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      buffer.unmap();
    } // else: WebGPU zero-initialises it
    // The pin: onnxruntime-web stores [pointer, 1] when it imports the buffer; keep it at one
    // more than it counts, so its unregister after each run leaves the import in place.
    let record: ImportRecord | undefined;
    let pinned = false;
    Object.defineProperty(buffer, key, {
      configurable: true,
      enumerable: false,
      get: () => record,
      set: (v: ImportRecord) => {
        record = v;
        if (!pinned && Array.isArray(v) && typeof v[1] === 'number' && Number.isFinite(v[1])) {
          v[1] += 1;
          pinned = true;
        }
      },
    });
    await this.touch(buffer); // imports it: register (count 1 + pin), unregister (back to the pin)
    if (!pinned || !record || record[1] !== 1) {
      // onnxruntime-web's glue is not what this expects: use its own buffers from now on.
      delete (buffer as unknown as Record<symbol, unknown>)[key];
      buffer.destroy();
      this.importKey = null;
      this.exactReason = `the import pin did not take on onnxruntime-web's glue (record ${JSON.stringify(record ?? null)})`;
      return null;
    }
    this.live += 1;
    let gone = false;
    const tensor = this.ort.Tensor.fromGpuBuffer(buffer, {
      dataType: type as 'float32',
      dims,
      dispose: () => {
        if (gone) return;
        gone = true;
        this.live -= 1;
        this.retired.push({
          buffer,
          unpin: () => {
            if (record) record[1] -= 1; // the next unregister drops the import
          },
        });
      },
    });
    return { buffer, tensor };
  }

  /** One run with `buffer` as the Identity's input (16 bytes of it): registers it, then unregisters. */
  private async touch(buffer: GPUBuffer): Promise<void> {
    const x = this.ort.Tensor.fromGpuBuffer(buffer, { dataType: 'int32', dims: [4] });
    (await this.identity.run({ x })).y.dispose();
  }

  /** Drop the imports of disposed exact buffers and destroy them. */
  private async sweep(): Promise<void> {
    while (this.retired.length > 0) {
      const { buffer, unpin } = this.retired.pop()!;
      unpin();
      await this.touch(buffer).catch(() => {});
      buffer.destroy();
    }
  }

  private async ortTensor(
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
    await this.sweep().catch(() => {});
    await this.identity.release().catch(() => {});
  }
}
