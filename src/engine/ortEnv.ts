/**
 * The one place that sets up onnxruntime-web, in the browser worker and in Node on Dawn.
 *
 * We import `onnxruntime-web/webgpu` (the native WebGPU EP; its build also carries the wasm
 * CPU EP, so the fallback needs no second ORT in the bundle — ENVIRONMENT.md). In Node,
 * `navigator.gpu` must exist before the import: the CLI calls `setupNodeGpu()` first
 * (src/cli/shared/nodeGpu.ts); that is why the import here is dynamic.
 *
 * ORT owns the GPUDevice; we borrow it (`ort.env.webgpu.device`) after the first WebGPU
 * session exists (browser-anchors.md §1.3: a device of our own is not shared with ORT).
 */
import type { AdapterInfo } from './protocol';
import type { MatMulAccuracy } from '../onnx/matmulAccuracy';
import { installWebgpuConfig, ortWasmFiles } from './webgpuConfig';

export type Ort = typeof import('onnxruntime-web/webgpu');
export type OrtTensor = import('onnxruntime-web/webgpu').Tensor;
export type OrtSession = import('onnxruntime-web/webgpu').InferenceSession;

export interface OrtRuntime {
  ort: Ort;
  backend: 'webgpu' | 'wasm';
  adapter: AdapterInfo;
  /** Why we are on wasm, when we are (one sentence), else null. */
  fallbackReason: string | null;
  /** ORT's device; null on wasm, and on WebGPU until the first session was created. */
  device(): GPUDevice | null;
  /**
   * Decode through onnxruntime's graph capture on WebGPU (engine/capturedDecode.ts; on by
   * default, on hardware and software adapters alike; `SVLM_GRAPH_CAPTURE=0` in Node turns it
   * off): weights in engine buffers shared by a prefill and a captured decode session per layer.
   * Off: one plain session per layer, the KV cache grown by Concat each token (also the wasm path).
   */
  graphCapture: boolean;
  /** How prefill and vision sessions are made (issue 13): see `PrefillTuning`. */
  tuning: PrefillTuning;
}

/** onnxruntime's WebGPU buffer cache modes (ort.webgpu.mjs checks the same four). */
export type BufferCacheMode = 'disabled' | 'lazyRelease' | 'simple' | 'bucket';
export type ValidationMode = 'disabled' | 'wgpuOnly' | 'basic' | 'full';

/**
 * Per-session choices that change speed, not what a graph computes (beyond the stated
 * rounding of `matmulAccuracy`). Each has a Node environment switch so the GPU bench measures
 * them side by side (bench/gpu/variants.sh); null leaves onnxruntime's default.
 */
export interface PrefillTuning {
  /**
   * accuracy_level written into every MatMulNBits at load (onnx/matmulAccuracy.ts); null keeps
   * the package's (0: exact). `SVLM_MATMUL_ACCURACY=0|4`.
   */
  matmulAccuracy: MatMulAccuracy | null;
  /** WebGPU EP `validationMode` (error scopes per run at 'basic', the JS default). `SVLM_VALIDATION`. */
  validationMode: ValidationMode | null;
  /** WebGPU EP `storageBufferCacheMode`. `SVLM_BUFFER_CACHE`. */
  storageBufferCacheMode: BufferCacheMode | null;
  /** Vision through a captured session (engine/visionCapture.ts). `SVLM_VISION_CAPTURE=0|1`. */
  visionCapture: boolean;
  /**
   * WebGPU EP `maxNumPendingDispatches` (onnxruntime's default 16): dispatches recorded before
   * onnxruntime submits a command buffer; a pruned prefill layer run is several submits at 16
   * (README "Pruned prefill, measured apart"). Context-wide, and onnxruntime-web's JS cannot pass
   * it: engine/webgpuConfig.ts sets it for every WebGPU session of the realm.
   * `SVLM_MAX_PENDING_DISPATCHES=1..4096`.
   */
  maxPendingDispatches: number | null;
  /**
   * Prefill attention as one com.microsoft MultiHeadAttention node per lifted layer
   * (engine/prefillAttention.ts: ~8 dispatches fewer per layer run). onnxruntime-web's flash
   * prefill kernel behind it (S ≥ 32) steps keys by min(subgroup size, 16) and is wrong where
   * subgroups are narrower (SwiftShader's 4), so the default is on only where the adapter
   * reports subgroups of 16 or more (`AdapterInfo.subgroupMinSize`). `SVLM_FUSED_ATTENTION=0|1`.
   */
  fusedAttention: boolean;
  /**
   * Layers per captured decode session (capturedDecode.ts `layersPerSession`); null: all of them
   * (one session run per token). `SVLM_DECODE_LAYERS_PER_SESSION=1..4096` (capped at the layer
   * count).
   */
  decodeLayersPerSession: number | null;
  /**
   * Buffers bound to captured graphs as exact-size buffers of ours (gpuBuffers.ts) rather than
   * onnxruntime's bucket-rounded ones. `SVLM_EXACT_BUFFERS=0|1`, default on.
   */
  exactBuffers: boolean;
}

export class TuningEnvError extends Error {
  override readonly name = 'TuningEnvError';
  constructor(
    readonly variable: string,
    readonly value: string,
    /** The values allowed, or for a range, one phrase that says it. */
    readonly allowed: readonly string[],
    expected = `one of ${allowed.join(', ')}`,
  ) {
    super(`${variable}=${value} is not ${expected}`);
  }
}

const envOf = (): Record<string, string | undefined> =>
  typeof process !== 'undefined' && process.env ? process.env : {};

function pick<T extends string>(
  env: Record<string, string | undefined>,
  name: string,
  allowed: readonly T[],
): T | null {
  const v = env[name];
  if (v === undefined || v === '') return null;
  if (!(allowed as readonly string[]).includes(v)) throw new TuningEnvError(name, v, allowed);
  return v as T;
}

/** onnxruntime's bounds for maxNumPendingDispatches (webgpu_provider_factory.cc refuses others). */
export const MAX_PENDING_DISPATCHES_RANGE = [1, 4096] as const;

/** Subgroup width from which onnxruntime-web's MultiHeadAttention flash prefill is right (its key step is min(width, 16)). */
export const FUSED_ATTENTION_MIN_SUBGROUP = 16;

/** An integer switch within [lo, hi] (decimal digits only), or null when unset. */
function pickInteger(
  env: Record<string, string | undefined>,
  name: string,
  [lo, hi]: readonly [number, number],
): number | null {
  const v = env[name];
  if (v === undefined || v === '') return null;
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(n >= lo && n <= hi)) throw new TuningEnvError(name, v, [], `an integer from ${lo} to ${hi}`);
  return n;
}

/**
 * The tuning for an adapter: the defaults below unless the Node environment overrides them.
 * Measured side by side on an H200 (LLaVA-1.5-7B shape, q4; bench/results/2026-12-02c-prefill-variants.md):
 * - accuracy_level 4: unpruned LLM prefill 470 → 245 ms, vision (captured) 31 → 21 ms; logits move
 *   by ~3e-2 (int8 activations). Default on hardware GPUs; software adapters (SwiftShader: CI,
 *   the goldens) keep the package's exact level 0, and matmulAccuracy.test.ts checks level 4
 *   keeps every decision and token of the margins fixture there.
 * - vision capture: vision 42–59 → 31 ms (+0.1 GB held by the captured session). Default on
 *   hardware GPUs; visionCapture.test.ts covers it on SwiftShader.
 * - validationMode 'disabled': within noise (prefill 470 → 432 ms, vision unchanged) and it
 *   would hide WebGPU errors a run now reports: not the default.
 * - fusedAttention (prefill attention as MultiHeadAttention): on where the adapter's subgroups are
 *   ≥ 16 wide (NVIDIA 32), off on SwiftShader (4) and where the width is unknown; see the field.
 *   H200, 2026-12-03 (bench/results/2026-12-03-prefill-variants.md): 25 → 16 dispatches per
 *   layer run, SparseVLM-64 prefill 126 → 112 ms; right at every S there (mha-probe, and layer by
 *   layer on the 7B package within 3e-6 at accuracy 0).
 * - maxPendingDispatches 64: 3.3× fewer submits, no change beyond the host's spread (same
 *   results page): left at onnxruntime's 16.
 * - storageBufferCacheMode 'simple': SparseVLM-64 prefill 185 → 132 ms (its per-layer lengths
 *   miss the default bucket sizes), but onnxruntime's simple cache keeps every buffer of every
 *   size it ever saw (buffer_manager.cc SimpleCacheManager never releases), so a session of
 *   varied prompts would grow without bound: not the default.
 */
export function prefillTuning(adapter: AdapterInfo, env: Record<string, string | undefined> = envOf()): PrefillTuning {
  const onGpu = adapter.backend === 'webgpu';
  const hardware = onGpu && !adapter.software;
  const acc = pick(env, 'SVLM_MATMUL_ACCURACY', ['0', '4'] as const);
  const vcap = pick(env, 'SVLM_VISION_CAPTURE', ['0', '1'] as const);
  // Checked on every backend (a typo is refused), used on WebGPU only.
  const pending = pickInteger(env, 'SVLM_MAX_PENDING_DISPATCHES', MAX_PENDING_DISPATCHES_RANGE);
  const fused = pick(env, 'SVLM_FUSED_ATTENTION', ['0', '1'] as const);
  return {
    matmulAccuracy: acc === null ? (hardware ? 4 : null) : (Number(acc) as MatMulAccuracy),
    validationMode: onGpu ? pick(env, 'SVLM_VALIDATION', ['disabled', 'wgpuOnly', 'basic', 'full'] as const) : null,
    storageBufferCacheMode: onGpu
      ? pick(env, 'SVLM_BUFFER_CACHE', ['disabled', 'lazyRelease', 'simple', 'bucket'] as const)
      : null,
    visionCapture: onGpu && (vcap === null ? hardware : vcap === '1'),
    maxPendingDispatches: onGpu ? pending : null,
    fusedAttention:
      onGpu && (fused === null ? (adapter.subgroupMinSize ?? 0) >= FUSED_ATTENTION_MIN_SUBGROUP : fused === '1'),
    decodeLayersPerSession: pickInteger(env, 'SVLM_DECODE_LAYERS_PER_SESSION', [1, 4096]),
    exactBuffers: pick(env, 'SVLM_EXACT_BUFFERS', ['0', '1'] as const) !== '0',
  };
}

export interface OrtInitOptions {
  preferBackend?: 'webgpu' | 'wasm';
  /**
   * Where ORT's .wasm (and .mjs) live: a URL prefix or explicit files. The browser worker passes
   * the Vite-emitted URL of the asyncify .wasm (the webgpu bundle inlines its .mjs), because
   * transformers.js, imported first, points an unset `wasmPaths` at cdn.jsdelivr.net.
   */
  wasmPaths?: string | { wasm?: string; mjs?: string };
  /** Set by the Node setup when no adapter exists, to say why. */
  noGpuReason?: string;
  /** Decode through captured graphs on WebGPU (default on, see graphCaptureDefault; in Node `SVLM_GRAPH_CAPTURE=0` turns it off). */
  graphCapture?: boolean;
  /** Overrides of `prefillTuning(adapter)`. */
  tuning?: Partial<PrefillTuning>;
}

/**
 * The default of `graphCapture`: on, unless the Node environment says `SVLM_GRAPH_CAPTURE=0`
 * (the plain path, e.g. to compare the two in the benchmarks). It was off twice: while the
 * captured path's tokens drifted from the plain path's (capturedDecode.test.ts; cause in
 * graphRewrite.ts, item 3), and while lifecycle.test.ts's soak saw six more device buffers after
 * the second request than after the first (2026-12-02): not a leak but onnxruntime's shared
 * buffer cache refilling, once, the buffers the decoder's fixed caches had taken from it; flat
 * from then on (lifecycle.test.ts's header has the measurement). The same default on SwiftShader
 * (CI) as on hardware adapters: the engine's Dawn tests run captured (lifecycle, golden and
 * capturedDecode tests passed so when it was turned on).
 */
export function graphCaptureDefault(): boolean {
  const env = typeof process !== 'undefined' ? process.env?.SVLM_GRAPH_CAPTURE : undefined;
  return env !== '0';
}

const wasmAdapter = (): AdapterInfo => ({
  backend: 'wasm',
  vendor: '',
  architecture: 'wasm',
  description: 'onnxruntime-web wasm (CPU)',
  isFallbackAdapter: false,
  software: true,
  shaderF16: false,
  timestampQuery: false,
  maxBufferSize: 0,
  maxStorageBufferBindingSize: 0,
  subgroupMinSize: null,
});

function describeAdapter(adapter: GPUAdapter): AdapterInfo {
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const arch = info?.architecture ?? '';
  const isFallback = Boolean(
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
  return {
    backend: 'webgpu',
    vendor: info?.vendor ?? '',
    architecture: arch,
    description: info?.description ?? '',
    isFallbackAdapter: isFallback,
    software: isFallback || /swiftshader|llvmpipe|lavapipe/i.test(`${arch} ${info?.description ?? ''}`),
    shaderF16: adapter.features.has('shader-f16'),
    timestampQuery: adapter.features.has('timestamp-query'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    // GPUAdapterInfo.subgroupMinSize (Chromium, Dawn); without the `subgroups` feature
    // onnxruntime uses no subgroups, so the width says nothing about its kernels.
    subgroupMinSize:
      adapter.features.has('subgroups') && typeof info?.subgroupMinSize === 'number' ? info.subgroupMinSize : null,
  };
}

let runtime: Promise<OrtRuntime> | null = null;

/** Initialise once per realm (worker or Node process); later calls return the same runtime. */
export function initOrt(opts: OrtInitOptions = {}): Promise<OrtRuntime> {
  runtime ??= (async () => {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    let adapter: GPUAdapter | null = null;
    let fallbackReason: string | null = null;
    if (opts.preferBackend === 'wasm') fallbackReason = 'the wasm backend was asked for';
    else if (!gpu) fallbackReason = opts.noGpuReason ?? 'this environment has no WebGPU (navigator.gpu is missing)';
    else {
      try {
        adapter = await gpu.requestAdapter();
      } catch {
        adapter = null;
      }
      if (!adapter) fallbackReason = opts.noGpuReason ?? 'WebGPU offers no adapter here';
    }
    const ort = await import('onnxruntime-web/webgpu');
    const backend = adapter ? 'webgpu' : 'wasm';
    const info = adapter ? describeAdapter(adapter) : wasmAdapter();
    const tuning: PrefillTuning = { ...prefillTuning(info), ...opts.tuning };
    const epConfig = backend === 'webgpu' ? webgpuContextOptions(tuning) : {};
    // Before the first session: onnxruntime-web loads its wasm then.
    if (Object.keys(epConfig).length) installWebgpuConfig(ort, epConfig, ortWasmFiles(opts.wasmPaths));
    else if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths;
    // Node: no COOP/COEP question, but threads put ORT's heap in a SharedArrayBuffer, which
    // costs a copy on every upload through Dawn; one thread keeps uploads plain.
    // Browser: wasm threads need cross-origin isolation (SharedArrayBuffer); without it, one.
    const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node);
    if (isNode || !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    return {
      ort,
      backend,
      adapter: info,
      fallbackReason,
      graphCapture: opts.graphCapture ?? graphCaptureDefault(),
      tuning,
      device() {
        if (backend !== 'webgpu') return null;
        // The getter throws or returns a promise before the first session on some builds.
        try {
          const d = (ort.env.webgpu as { device?: unknown }).device;
          return d && typeof (d as GPUDevice).createBuffer === 'function' ? (d as GPUDevice) : null;
        } catch {
          return null;
        }
      },
    };
  })();
  return runtime;
}

/** Session options for one graph: gpu-buffer for the named outputs on WebGPU. */
export function sessionOptions(
  rt: OrtRuntime,
  gpuOutputs: string[],
  externalData?: { path: string; data: Uint8Array }[],
): import('onnxruntime-web/webgpu').InferenceSession.SessionOptions {
  const onGpu = rt.backend === 'webgpu';
  return {
    executionProviders: [onGpu ? webgpuProvider(rt) : 'wasm'],
    graphOptimizationLevel: 'all',
    // Errors only (3): at the default (2, warning) every session logs VerifyEachNodeIsAssignedToAnEp
    // ("some nodes were not assigned to the preferred execution providers": shape ops ORT keeps on
    // the CPU on purpose) twice, which the browser shows as console errors, 266 in one sitting.
    logSeverityLevel: 3,
    ...(onGpu && gpuOutputs.length
      ? { preferredOutputLocation: Object.fromEntries(gpuOutputs.map((n) => [n, 'gpu-buffer' as const])) }
      : {}),
    ...(externalData?.length ? { externalData } : {}),
  };
}

/**
 * The tuning's WebGPU EP options that onnxruntime-web's EP entry cannot carry (webgpuConfig.ts
 * sets them for every WebGPU session of the realm, from the first).
 */
export function webgpuContextOptions(t: PrefillTuning): Record<string, string> {
  const n = t.maxPendingDispatches;
  if (n === null) return {};
  const [lo, hi] = MAX_PENDING_DISPATCHES_RANGE;
  // onnxruntime refuses others with a bare exception pointer for a message.
  if (!Number.isInteger(n) || n < lo || n > hi)
    throw new RangeError(`maxPendingDispatches ${n} is not an integer from ${lo} to ${hi}`);
  return { maxNumPendingDispatches: String(n) };
}

/**
 * The WebGPU EP entry with the tuning's EP options. An object, not the string 'webgpu': ORT
 * reads EP options (and `enableGraphCapture`) only from an object (ort.webgpu.mjs). The
 * options configure onnxruntime's one WebGPU context, made by the first session; every session
 * passes the same ones.
 */
export function webgpuProvider(rt: OrtRuntime): { name: 'webgpu'; [option: string]: string } {
  const t = rt.tuning;
  return {
    name: 'webgpu',
    ...(t.validationMode ? { validationMode: t.validationMode } : {}),
    ...(t.storageBufferCacheMode ? { storageBufferCacheMode: t.storageBufferCacheMode } : {}),
  };
}
