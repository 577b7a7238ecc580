/**
 * The phase clock on Dawn (SwiftShader offers 'timestamp-query', and so does ORT's device on it):
 * - GPU marks are ordered with other submits: a mark submitted after a busy compute pass is
 *   stamped after that pass ended (the span covering it is at least the pass's own
 *   begin→end timestamps), and marking does not wait for the GPU;
 * - one resolve = one counted read-back for all marks; reset starts a new round; overflow is a typed error;
 * - the wall clock waits for the queue at every mark.
 */
import { describe, expect, it } from 'vitest';
import { dawnDoor } from '../gpu/testing/dawn';
import { TimestampMarks, TimestampMarksFullError } from '../gpu/profiler';
import { GpuPhaseClock, WallPhaseClock, createPhaseClock, marksPerRequest } from './phaseClock';

/** A compute pass that keeps the GPU busy for a while, with its own begin/end timestamps. */
function busyPass(device: GPUDevice, iterations: number, stamps: GPUQuerySet | null): GPUBuffer {
  const module = device.createShaderModule({
    code: `
    @group(0) @binding(0) var<storage, read_write> out: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
      var x = f32(id.x);
      for (var i = 0u; i < ${iterations}u; i++) { x = fract(x * 1.0001 + 0.37); }
      out[id.x] = x;
    }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const out = device.createBuffer({ size: 64 * 64 * 4, usage: GPUBufferUsage.STORAGE });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(
    stamps ? { timestampWrites: { querySet: stamps, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
  );
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: out } }],
    }),
  );
  pass.dispatchWorkgroups(64);
  pass.end();
  device.queue.submit([enc.finish()]);
  return out;
}

async function passMs(device: GPUDevice, stamps: GPUQuerySet): Promise<number> {
  const dst = device.createBuffer({ size: 256, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.resolveQuerySet(stamps, 0, 2, dst, 0);
  enc.copyBufferToBuffer(dst, 0, read, 0, 16);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const t = new BigInt64Array(read.getMappedRange().slice(0));
  read.destroy();
  dst.destroy();
  return Number(t[1] - t[0]) / 1e6;
}

describe('phase clock (Dawn)', () => {
  it('GPU marks: stamped after earlier submits finish, never waiting; one read-back per round', async () => {
    const { door, faults } = await dawnDoor();
    expect(door.hasTimestamps).toBe(true); // SwiftShader offers timestamp-query
    const clock = createPhaseClock(door, () => door.device.queue.onSubmittedWorkDone(), 4);
    expect(clock).toBeInstanceOf(GpuPhaseClock);
    expect((clock as GpuPhaseClock).capacity).toBe(marksPerRequest(4));
    const stamps = door.device.createQuerySet({ type: 'timestamp', count: 2 });
    busyPass(door.device, 2000, null).destroy(); // compile and warm up
    await door.device.queue.onSubmittedWorkDone();

    clock.reset();
    const reads0 = door.readbacks.count;
    const a = await clock.mark();
    const t0 = performance.now();
    const work = busyPass(door.device, 20_000, stamps);
    const b = await clock.mark();
    const c = await clock.mark();
    const enqueueMs = performance.now() - t0;
    const span = await clock.resolve();
    const kernelMs = await passMs(door.device, stamps);
    work.destroy();
    console.log(
      `busy pass ${kernelMs.toFixed(2)} ms (its own timestamps); marks a→b ${span(a, b).toFixed(2)} ms, b→c ${span(b, c).toFixed(3)} ms; enqueue took ${enqueueMs.toFixed(2)} ms wall`,
    );
    expect([a, b, c]).toEqual([0, 1, 2]);
    expect(kernelMs).toBeGreaterThan(1);
    // Ordered: mark b is stamped after the pass ended, so a→b covers the whole pass.
    expect(span(a, b)).toBeGreaterThanOrEqual(kernelMs * 0.98);
    // b and c had nothing between them.
    expect(span(b, c)).toBeLessThan(kernelMs / 4);
    // Marking did not wait for the GPU: enqueueing the pass and two marks took less than the pass ran.
    expect(enqueueMs).toBeLessThan(kernelMs);
    expect(door.readbacks.count - reads0).toBe(1);
    expect(() => span(0, 3)).toThrow(RangeError);

    // A new round starts at index 0; overflow is a typed error.
    clock.reset();
    expect(await clock.mark()).toBe(0);
    const small = new TimestampMarks(door, 2);
    small.mark();
    small.mark();
    expect(() => small.mark()).toThrow(TimestampMarksFullError);
    expect((await small.resolve()).length).toBe(2);
    expect(small.taken).toBe(0);
    small.destroy();
    clock.destroy();
    stamps.destroy();
    expect(faults).toEqual([]);
  }, 120_000);

  it("wall: each mark waits for the queue; 'wall' preference or no door gives it", async () => {
    const { door } = await dawnDoor();
    let syncs = 0;
    const sync = async () => {
      syncs++;
      await door.device.queue.onSubmittedWorkDone();
    };
    expect(createPhaseClock(door, sync, 4, 'wall')).toBeInstanceOf(WallPhaseClock);
    const clock = createPhaseClock(null, sync, 4);
    expect(clock.kind).toBe('wall');
    clock.reset();
    const a = await clock.mark();
    busyPass(door.device, 20_000, null).destroy();
    const b = await clock.mark();
    const span = await clock.resolve();
    expect(syncs).toBe(2);
    expect(span(a, b)).toBeGreaterThan(1); // the mark waited for the busy pass
  }, 120_000);
});
