/**
 * WebGPU EP options that onnxruntime-web's JS cannot pass, passed anyway (issue 13:
 * `maxNumPendingDispatches`, engine/ortEnv.ts `PrefillTuning`).
 *
 * onnxruntime's WebGPU EP reads its options from the session's config entries
 * (`ep.webgpuexecutionprovider.<option>`, webgpu_provider_options.h) when the EP is appended to
 * the session options: `SessionOptionsAppendExecutionProvider` → `WebGpuProviderFactoryCreator::
 * Create(config_options)` parses them there and creates (or joins) the WebGPU context.
 * onnxruntime-web's JS appends the EP with an allow-list of keys taken from the EP entry
 * (`validationMode`, the buffer cache modes, …: ort.webgpu.mjs `setExecutionProviders`) and
 * applies `sessionOptions.extra` only afterwards, so an `extra` entry for the EP is never read.
 * Checked on the pinned build (1.31.0-dev.20260914, Dawn/SwiftShader, 2026-12-03): `extra` with
 * `…maxNumPendingDispatches: '0'` or `…validationMode: 'bogus'` is accepted and changes nothing,
 * while `validationMode: 'bogus'` in the EP entry is refused.
 *
 * The one hook left: `env.wasm.wasmPaths.mjs` names the Emscripten loader onnxruntime-web imports
 * instead of the copy its bundle embeds. We point it at a one-line module that hands over to
 * `loadWithEntries` below: it loads the package's real loader and wraps the module's
 * `_OrtAppendExecutionProvider`, adding our entries to the session options right before the
 * WebGPU EP is appended and parses them.
 *
 * Context-wide: `maxNumPendingDispatches` belongs to onnxruntime's one WebGPU context, and the
 * first WebGPU session of the realm configures it; a later session asking for another value is
 * ignored (onnxruntime logs "WebGPU context is already initialized with maxNumPendingDispatches=16.
 * Requested value 64 will be ignored."; seen on the pinned build with sessions of 16 then 64,
 * 64 then 16, 4 then 16 and 64: the first value held for all). Installed at the wasm level, the
 * entries reach every WebGPU session of the realm alike: the engine's (ortEnv.ts sessionOptions)
 * and those made with other options (GpuBuffers' Identity session), so the first one always
 * carries them.
 */
type Ort = typeof import('onnxruntime-web/webgpu');

/** The prefix onnxruntime gives the WebGPU EP's keys among a session's config entries. */
export const WEBGPU_CONFIG_PREFIX = 'ep.webgpuexecutionprovider.';

/** The Emscripten module's functions we use (the ones onnxruntime-web's JS calls by these names). */
interface OrtWasmModule {
  _OrtAppendExecutionProvider(
    options: number,
    name: number,
    keys: number,
    values: number,
    count: number,
  ): number | Promise<number>;
  _OrtAddSessionConfigEntry(options: number, key: number, value: number): number;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  lengthBytesUTF8(text: string): number;
  stringToUTF8(text: string, pointer: number, maxBytes: number): void;
  UTF8ToString(pointer: number): string;
}

type OrtWasmFactory = (moduleArgs: unknown) => Promise<OrtWasmModule>;

/** Where onnxruntime-web's asyncify loader (.mjs) and its .wasm are. */
export interface OrtWasmFiles {
  loader: string;
  wasm: string;
}

export class WebgpuConfigError extends Error {
  override readonly name = 'WebgpuConfigError';
}

const HANDOVER = 'sparsevlm.ortWasmFactory';
/** The module onnxruntime-web imports as its loader: hands over to `loadWithEntries` in this realm. */
const HANDOVER_URL = `data:text/javascript,${encodeURIComponent(
  `export default (moduleArgs) => globalThis[Symbol.for(${JSON.stringify(HANDOVER)})](moduleArgs);`,
)}`;

/** How many WebGPU EP appends got the entries (the tests and the bench read it). */
export const webgpuConfigStats = { appends: 0 };

/**
 * The loader and .wasm: the caller's (the browser worker knows the bundler's URLs), else in Node
 * the package's own files.
 */
export function ortWasmFiles(paths: string | { wasm?: string; mjs?: string } | undefined): OrtWasmFiles {
  const asyncify = 'ort-wasm-simd-threaded.asyncify';
  if (typeof paths === 'string') return { loader: `${paths}${asyncify}.mjs`, wasm: `${paths}${asyncify}.wasm` };
  const isNode = typeof process !== 'undefined' && Boolean(process.versions?.node);
  const own = (ext: 'mjs' | 'wasm') => (isNode ? import.meta.resolve(`onnxruntime-web/${asyncify}.${ext}`) : undefined);
  const loader = paths?.mjs ?? own('mjs');
  const wasm = paths?.wasm ?? own('wasm');
  if (!loader || !wasm)
    throw new WebgpuConfigError(
      `WebGPU EP options beyond onnxruntime-web's own (maxNumPendingDispatches) need the URLs of its ${asyncify}.mjs and .wasm (wasmPaths.mjs and .wasm)`,
    );
  return { loader, wasm };
}

function addEntries(m: OrtWasmModule, options: number, entries: [string, string][]): number {
  for (const [key, value] of entries) {
    const text = (s: string) => {
      const bytes = m.lengthBytesUTF8(s) + 1;
      const p = m._malloc(bytes);
      m.stringToUTF8(s, p, bytes);
      return p;
    };
    const k = text(key);
    const v = text(value);
    const status = m._OrtAddSessionConfigEntry(options, k, v); // copies both strings
    m._free(k);
    m._free(v);
    if (status !== 0) return status; // onnxruntime-web then reports the last error
  }
  return 0;
}

/** The real loader's module, with every WebGPU EP append preceded by `entries`. */
async function loadWithEntries(
  loader: string,
  entries: [string, string][],
  moduleArgs: unknown,
): Promise<OrtWasmModule> {
  const real = ((await import(/* @vite-ignore */ loader)) as { default: OrtWasmFactory }).default;
  const m = await real(moduleArgs);
  const append = m._OrtAppendExecutionProvider;
  m._OrtAppendExecutionProvider = (options, name, keys, values, count) => {
    if (m.UTF8ToString(name) === 'WebGPU') {
      const status = addEntries(m, options, entries);
      if (status !== 0) return status;
      webgpuConfigStats.appends += 1;
    }
    return append(options, name, keys, values, count);
  };
  return m;
}

/**
 * Make every WebGPU session of this realm carry `options` (WebGPU EP option name → value, without
 * the prefix). Must run before onnxruntime-web loads its wasm, i.e. before the first session.
 */
export function installWebgpuConfig(ort: Ort, options: Record<string, string>, files: OrtWasmFiles): void {
  const entries = Object.entries(options).map(([k, v]): [string, string] => [`${WEBGPU_CONFIG_PREFIX}${k}`, v]);
  (globalThis as Record<symbol, unknown>)[Symbol.for(HANDOVER)] = (moduleArgs: unknown) =>
    loadWithEntries(files.loader, entries, moduleArgs);
  ort.env.wasm.wasmPaths = { mjs: HANDOVER_URL, wasm: files.wasm };
}
