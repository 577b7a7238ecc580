/**
 * Every GPU → CPU read goes through `read()` and is counted, so the engine's tests can
 * assert how many read-backs a request costs (DESIGN.md: only the trace and the sampled
 * token come back).
 */
export class ReadbackCounter {
  count = 0;
  bytes = 0;

  constructor(private readonly device: GPUDevice) {}

  async read(src: GPUBuffer, offset: number, byteLength: number, label = 'Readback.staging'): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const staging = this.device.createBuffer({ label, size, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
    const enc = this.device.createCommandEncoder({ label: 'Readback.encoder' });
    if (byteLength > 0) enc.copyBufferToBuffer(src, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    this.count++;
    this.bytes += byteLength;
    await staging.mapAsync(0x0001); // GPUMapMode.READ
    const out = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    staging.destroy();
    return out;
  }
}
