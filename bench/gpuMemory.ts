/**
 * GPU bytes allocated, counted at the WebGPU API: every `GPUDevice.createBuffer` adds its size,
 * `GPUBuffer.destroy` subtracts it. Nothing in the engine or the GPU door keeps such a counter
 * (the pool counts only our own buffers; ORT's are invisible to us), so the bench installs this
 * hook on the prototypes before ORT creates its device; it then sees ORT's buffers (weights,
 * activations, KV caches, its buffer cache) and ours alike.
 *
 * Caveat, reported with the figures: ORT keeps released buffers in its bucket cache, so "live"
 * counts buffers ORT holds for reuse, not only tensors in use; a buffer dropped without
 * destroy() (garbage collected) is counted until the end.
 */

export interface GpuMemoryCounter {
  /** Bytes of buffers created and not yet destroyed. */
  live(): number;
  /** Highest `live()` since the last `resetPeak()`. */
  peak(): number;
  resetPeak(): void;
  buffers(): number;
}

interface Proto {
  prototype: Record<string, unknown>;
}

let installed: GpuMemoryCounter | null = null;

/**
 * Install once per realm (Node process or worker). Returns null when the WebGPU classes are not
 * globals here (no WebGPU: nothing to count).
 */
export function installGpuMemoryCounter(
  scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>,
): GpuMemoryCounter | null {
  if (installed) return installed;
  const Device = scope.GPUDevice as Proto | undefined;
  const Buffer = scope.GPUBuffer as Proto | undefined;
  if (!Device?.prototype?.createBuffer || !Buffer?.prototype?.destroy) return null;
  const sizes = new WeakMap<object, number>();
  let live = 0;
  let peak = 0;
  let count = 0;
  const create = Device.prototype.createBuffer as (this: GPUDevice, d: GPUBufferDescriptor) => GPUBuffer;
  const destroy = Buffer.prototype.destroy as (this: GPUBuffer) => void;
  Device.prototype.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buf = create.call(this, desc);
    sizes.set(buf, desc.size);
    live += desc.size;
    count++;
    if (live > peak) peak = live;
    return buf;
  };
  Buffer.prototype.destroy = function (this: GPUBuffer): void {
    const size = sizes.get(this);
    if (size !== undefined) {
      live -= size;
      count--;
      sizes.delete(this);
    }
    destroy.call(this);
  };
  installed = {
    live: () => live,
    peak: () => peak,
    resetPeak: () => {
      peak = live;
    },
    buffers: () => count,
  };
  return installed;
}
