/**
 * Node setup shared by the CLIs and the GPU tests: find a Vulkan driver Dawn can use, create
 * Dawn's `navigator.gpu`, and patch the one Dawn incompatibility onnxruntime-web trips on.
 * Must run before `onnxruntime-web/webgpu` is imported (ORT reads `navigator.gpu` at init).
 *
 * ENVIRONMENT.md: Debian's lavapipe gives Dawn no adapter; Chromium's SwiftShader ICD does.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

/** Software Vulkan drivers we know give Dawn a working adapter, most preferred first. */
export const SOFTWARE_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json'];

export interface NodeGpuResult {
  /** Null when no adapter could be had; `reason` then says why in one sentence. */
  gpu: GPU | null;
  adapter: GPUAdapter | null;
  /** The ICD file we pointed Vulkan at, when we chose one. */
  icd: string | null;
  reason: string;
}

let cached: Promise<NodeGpuResult> | null = null;

/**
 * Why Node "hung" on WebGPU (found by attaching gdb): onnxruntime-web's wasm is large, and V8
 * tiers it up with Turbofan on background threads. On a 2-core machine that takes minutes;
 * meanwhile the event loop could drain while ORT awaited a Dawn promise
 * (createComputePipelineAsync), and Node's exit then blocks joining the compile threads —
 * no output, no exit. Liftoff-only code is ready at once (the first session drops from ~17 s
 * to under 1 s). onnxruntime-web's WebGPU EP runs its per-dispatch code in that wasm on every
 * session run, which on a real GPU bounds decode; yet tier-up did not help it: on an H100 host
 * (16 cores) a decode layer run cost 2.9–3.4 ms of CPU with Liftoff only and 4.0–4.7 ms with
 * tier-up (bench/gpu/dispatchCost.ts, 2026-11-24). So Liftoff only, everywhere;
 * `SVLM_WASM_TIERUP=1` lets V8 tier up (for measuring). Must run before ORT's wasm compiles.
 */
export function preferQuickWasmCompile(): void {
  if (!liftoffOnly()) return;
  setFlagsFromString('--liftoff-only');
}

/** Whether this process compiles ORT's wasm with Liftoff only (see preferQuickWasmCompile). */
export function liftoffOnly(): boolean {
  return process.env.SVLM_WASM_TIERUP !== '1';
}

/**
 * Dawn features enabled on the instance: NVIDIA's Vulkan driver has f16 arithmetic, but Dawn
 * blocks `shader-f16` there unless asked (../shared/GPU.md, measured on an H100), so q4f16
 * packages would otherwise fall back to q4. No effect on other drivers. `SVLM_DAWN_TOGGLES`
 * (comma-separated Dawn toggle names) adds more, for experiments.
 */
const DAWN_FEATURES = ['vulkan_enable_f16_on_nvidia'];

function dawnToggles(): string[] {
  const extra = process.env.SVLM_DAWN_TOGGLES?.split(',').filter(Boolean) ?? [];
  return [`enable-dawn-features=${[...DAWN_FEATURES, ...extra].join(',')}`];
}

let keepAliveTimer: ReturnType<typeof setInterval> | null = null;

/**
 * Keep Node's event loop referenced while Dawn work may be in flight: dawn.node resolves its
 * promises from a setImmediate poll, which does not by itself stop the loop from draining
 * while ORT waits inside its wasm. Call `releaseNodeGpu()` when done so the process can exit.
 */
export function holdEventLoop(): void {
  keepAliveTimer ??= setInterval(() => {}, 1 << 30);
}

export function releaseNodeGpu(): void {
  if (keepAliveTimer) clearInterval(keepAliveTimer);
  keepAliveTimer = null;
}

/**
 * Dawn rejects writeBuffer from views over SharedArrayBuffer ("Invalid argument"), and ORT's
 * wasm heap is shared when threads are on: copy such views into plain memory first.
 */
function patchWriteBuffer(): void {
  const proto = (globalThis as { GPUQueue?: { prototype: GPUQueue } }).GPUQueue?.prototype;
  if (!proto || (proto as unknown as { __sabPatched?: boolean }).__sabPatched) return;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset?: number,
    size?: number,
  ) {
    let src = data as ArrayBufferView | ArrayBuffer;
    if (
      ArrayBuffer.isView(src) &&
      typeof SharedArrayBuffer !== 'undefined' &&
      src.buffer instanceof SharedArrayBuffer
    ) {
      const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
      const el = (src as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const copy = new Uint8Array(bytes); // plain ArrayBuffer
      // dataOffset/size are in elements of the original view's type; keep that meaning.
      src = el === 1 ? copy : new (src.constructor as new (b: ArrayBuffer) => ArrayBufferView)(copy.buffer);
    } else if (typeof SharedArrayBuffer !== 'undefined' && src instanceof SharedArrayBuffer) {
      src = new Uint8Array(new Uint8Array(src)).buffer;
    }
    return original.call(this, buffer, offset, src as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  (proto as unknown as { __sabPatched?: boolean }).__sabPatched = true;
}

/**
 * Create Dawn's GPU once per process. If the environment names no ICD and a known software
 * driver exists, point Vulkan at it (a hardware driver, when present, is found by the loader
 * without help; we only set the variable when it is unset).
 */
export function setupNodeGpu(): Promise<NodeGpuResult> {
  cached ??= (async () => {
    preferQuickWasmCompile();
    holdEventLoop();
    let icd: string | null = null;
    if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
      icd = SOFTWARE_ICDS.find((p) => existsSync(p)) ?? null;
      // Try hardware first: only fall to the software ICD if the loader finds no adapter.
    }
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    let webgpu: typeof import('webgpu');
    try {
      webgpu = await import('webgpu');
    } catch (e) {
      return {
        gpu: null,
        adapter: null,
        icd,
        reason: `the 'webgpu' package (Dawn) could not be loaded: ${(e as Error).message}`,
      };
    }
    Object.assign(globalThis, webgpu.globals);
    patchWriteBuffer();
    const tryCreate = async (): Promise<{ gpu: GPU; adapter: GPUAdapter | null }> => {
      const gpu = webgpu.create(dawnToggles()) as GPU;
      let adapter: GPUAdapter | null = null;
      try {
        adapter = await gpu.requestAdapter();
      } catch {
        adapter = null;
      }
      return { gpu, adapter };
    };
    const named = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? null;
    let { gpu, adapter } = await tryCreate();
    if (!adapter && icd) {
      // Vulkan reads VK_ICD_FILENAMES when Dawn creates its instance, so a second instance sees it.
      process.env.VK_ICD_FILENAMES = icd;
      ({ gpu, adapter } = await tryCreate());
    } else {
      icd = process.env.VK_ICD_FILENAMES ?? null;
    }
    if (!adapter) {
      const where = icd
        ? `even with the software driver ${icd}`
        : `and no software Vulkan driver was found (looked for ${SOFTWARE_ICDS.join(', ')})`;
      return { gpu: null, adapter: null, icd, reason: `Vulkan offers Dawn no WebGPU adapter ${where}` };
    }
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    const reason = named
      ? `using the Vulkan driver named by the environment (${named})`
      : icd
        ? `using the software Vulkan driver ${icd}`
        : 'using the system Vulkan driver';
    return { gpu, adapter, icd, reason };
  })();
  return cached;
}
