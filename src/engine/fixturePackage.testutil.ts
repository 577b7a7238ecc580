/**
 * Test helpers shared by the engine's GPU tests: a fixture checkpoint converted in memory
 * (fp32) and read through the same PackageReader interface the app uses.
 * (Kept out of *.test.ts so importing them does not register another file's tests.)
 */
import { join } from 'node:path';
import { convertCheckpoint } from '../convert/convert';
import { openCheckpointDir } from '../convert/checkpoint/nodeCheckpoint';
import { setupNodeGpu } from '../cli/shared/nodeGpu';
import type { Engine } from './engine';
import { missingFile, type PackageReader } from '../package/source';
import type { PackageDtype } from '../package/manifest';
import { MemorySink } from '../package/sink';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

/** A converted package held in memory, read like a folder. */
export function memoryReader(files: Map<string, Uint8Array>, label: string): PackageReader {
  return {
    label,
    async read(path, onBytes) {
      const bytes = files.get(path);
      if (!bytes) throw missingFile(path, label);
      onBytes?.(bytes.byteLength);
      return bytes.slice();
    },
    async stat(path) {
      const bytes = files.get(path);
      return bytes ? { bytes: bytes.byteLength } : null;
    },
  };
}

/** Convert fixtures/<name> to a package in memory (fp32 unless `dtype` says otherwise). */
export async function fixturePackage(name: string, dtype: PackageDtype = 'fp32'): Promise<Map<string, Uint8Array>> {
  const ckpt = await openCheckpointDir(join(FIXTURES, name));
  try {
    const sink = new MemorySink();
    await convertCheckpoint(ckpt, { dtype, sink });
    return sink.files;
  } finally {
    await ckpt.close?.();
  }
}

/**
 * An engine on Dawn's WebGPU, with `fixture` (a converted fixture package) loaded when given.
 * Dawn is set up before the engine module is imported (onnxruntime reads `navigator.gpu` then);
 * no adapter is an error, and so is an engine that fell back to wasm.
 */
export async function dawnEngine(fixture?: string): Promise<Engine> {
  const gpu = await setupNodeGpu();
  if (!gpu.adapter) throw new Error(`no WebGPU adapter: ${gpu.reason}`);
  const { Engine } = await import('./engine');
  const engine = await Engine.create();
  if (engine.adapter.backend !== 'webgpu') throw new Error(`the engine runs on ${engine.adapter.backend}, not WebGPU`);
  if (fixture) await engine.load(memoryReader(await fixturePackage(fixture), fixture));
  return engine;
}

/**
 * A wasm engine on the runtime of `dawn` (made first: onnxruntime is initialised once per
 * process), for tests that compare WebGPU against wasm or ask for wasm. `why` becomes the
 * runtime's fallback reason.
 */
export async function wasmEngineBeside(dawn: Engine, why: string): Promise<Engine> {
  const { Engine } = await import('./engine');
  const rt = dawn.rt;
  return Engine.withRuntime({
    ...rt,
    backend: 'wasm',
    adapter: { ...rt.adapter, backend: 'wasm' },
    fallbackReason: why,
    device: () => null,
  });
}
