/**
 * Dawn (npm `webgpu`) for Node tests and scripts. On the CPU machines the adapter is
 * Chromium's SwiftShader Vulkan driver (ENVIRONMENT.md); the env is set here, before
 * `create`, so `npx vitest run` needs nothing exported. On the GPU machine VK_ICD_FILENAMES
 * must stay unset (GPU.md): pass { swiftshader: false }.
 */
import { GpuDoor, type GpuFault } from '../device';

let cached: Promise<GPUDevice> | null = null;
// Dawn's instance and adapter must outlive the device: if they are garbage-collected, the
// next submit crashes the process. Keep them here for the life of the process.
const keepAlive: unknown[] = [];

export async function dawnDevice(opts: { swiftshader?: boolean } = {}): Promise<GPUDevice> {
  if (cached) return cached;
  cached = (async () => {
    if (opts.swiftshader !== false && !process.env.VK_ICD_FILENAMES) {
      process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    }
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    keepAlive.push(gpu, adapter);
    if (!adapter) throw new Error('Dawn: no WebGPU adapter (is chromium installed for SwiftShader?)');
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    return adapter.requestDevice({ label: 'DawnTest.device', requiredFeatures });
  })();
  return cached;
}

/** A door on the Dawn device whose faults fail the test that caused them. */
export async function dawnDoor(): Promise<{ door: GpuDoor; faults: GpuFault[] }> {
  const faults: GpuFault[] = [];
  const door = new GpuDoor(await dawnDevice(), { onFault: (f) => faults.push(f) });
  return { door, faults };
}
