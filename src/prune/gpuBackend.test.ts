import { describe, expect, it } from 'vitest';
import { CpuPruneBackend } from './cpuBackend';
import type { PruneBackend } from './backend';
import { gaussian, gpuBackend } from '../gpu/testing/harness';
import { GpuDoor, GpuDoorError } from '../gpu/device';
import type { BTensor } from '../common/tensor';

// One SparseVLM stage on small shapes, written once against PruneBackend (as a method is),
// run on both backends: decisions must agree, and the GPU side must leave its pool where it
// was and read back exactly what the stage asks for.
const Lpre = 5,
  V = 48,
  T = 9,
  D = 64,
  H = 4,
  hd = 16;
const L = Lpre + V + T;

async function stage(be: PruneBackend, seed: number) {
  const hidden = be.upload(gaussian(L * D, seed), [L, D]);
  const visual = be.upload(gaussian(V * D, seed + 1, 0.4), [V, D]);
  const text = be.upload(gaussian(T * D, seed + 2, 0.4), [T, D]);
  const query = be.upload(gaussian(H * L * hd, seed + 3), [H, L, hd]);
  const key = be.upload(gaussian(H * L * hd, seed + 4), [H, L, hd]);
  const { raters } = await be.raterSelect(visual, text);
  const rows = be.upload(
    Uint32Array.from(raters, (r) => r + Lpre + V),
    [raters.length],
  );
  const att = be.raterAttention(query, key, { queryRows: rows, visualStart: Lpre, visualCount: V });
  const rank = await be.rankEstimate(att.block);
  const { keep, order } = be.topkKeep(att.scores, 20);
  const orderHost = (await be.read(order)) as Uint32Array;
  const pruned = orderHost.slice(20); // descending score
  const n = Math.floor(0.3 * pruned.length) + 1;
  const candidates = be.upload(
    Uint32Array.from(pruned.slice(0, n), (i) => i + Lpre),
    [n],
  );
  const clusters = Math.floor(n / 10) + 1;
  const dpc = be.dpcKnnMerge(hidden, candidates, clusters, {
    assignment: 'euclidean',
    merge: 'mean',
    densestDelta: 'global-max',
  });
  const keepHost = (await be.read(keep)) as Uint32Array;
  const newRows = Uint32Array.from([
    ...Array.from({ length: Lpre }, (_, i) => i),
    ...Array.from(keepHost, (i) => i + Lpre),
    ...Array.from({ length: clusters }, (_, c) => L + c),
    ...Array.from({ length: T }, (_, i) => Lpre + V + i),
  ]);
  const rowsT = be.upload(newRows, [newRows.length]);
  const next = be.gather(hidden, dpc.merged, rowsT);
  const nextHost = (await be.read(next)) as Float32Array;
  const assignment = Array.from(await be.read(dpc.assignment));
  const all: BTensor[] = [
    hidden,
    visual,
    text,
    query,
    key,
    rows,
    att.block,
    att.scores,
    keep,
    order,
    candidates,
    dpc.merged,
    dpc.assignment,
    dpc.centers,
    rowsT,
    next,
  ];
  for (const t of all) be.release(t);
  return { raters: Array.from(raters), rank, keep: Array.from(keepHost), assignment, nextHost };
}

describe('GpuPruneBackend', () => {
  it('one stage agrees with CpuPruneBackend; 20 requests leave the pool as it was; read-backs counted', async () => {
    const { be, door, faults } = await gpuBackend();
    const cpu = new CpuPruneBackend();
    const want = await stage(cpu, 100);
    const got = await stage(be, 100);
    expect(got.raters).toEqual(want.raters);
    expect(got.raters.length).toBeGreaterThan(0);
    expect(got.rank).toBe(want.rank);
    expect(got.keep).toEqual(want.keep);
    expect(got.assignment).toEqual(want.assignment);
    const bad = got.nextHost.findIndex(
      (x, i) => Math.abs(x - want.nextHost[i]) > 1e-5 * (1 + Math.abs(want.nextHost[i])),
    );
    expect(bad).toBe(-1);

    const before = door.pool.snapshot();
    const reads0 = door.readbacks.count;
    for (let i = 0; i < 20; i++) await stage(be, 100);
    const after = door.pool.snapshot();
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(after.created).toBe(before.created); // every buffer came from the pool the second time
    // Per stage: raterSelect 1, rankEstimate 1, order 1, keep 1, next 1, assignment 1.
    expect(door.readbacks.count - reads0).toBe(20 * 6);
    expect(faults).toEqual([]);
  });

  it('profiles kernel time: timestamps per wrapper when available, wall time always', async () => {
    const { be, door, faults } = await gpuBackend();
    const profiler = be.profile(true)!;
    const { ms } = await be.measure(() => stage(be, 7));
    expect(ms).toBeGreaterThan(0);
    const perKernel = await profiler.collect();
    if (door.hasTimestamps) {
      expect(profiler.clock).toBe('gpu-timestamp');
      for (const owner of [
        'RaterSelect',
        'RaterAttention',
        'RankEstimate',
        'TopkKeep',
        'DpcKnnMerge',
        'GatherTokens',
      ]) {
        expect(Number.isFinite(perKernel[owner]) && perKernel[owner] >= 0, owner).toBe(true);
      }
      expect(Object.values(perKernel).some((x) => x > 0)).toBe(true);
    }
    be.profile(false);
    expect(faults).toEqual([]);
  });

  it('the door refuses a device below the limits the kernels need', () => {
    const weak = {
      limits: { maxComputeInvocationsPerWorkgroup: 128 },
      features: new Set(),
      lost: new Promise(() => {}),
    };
    expect(() => new GpuDoor(weak as unknown as GPUDevice)).toThrow(GpuDoorError);
  });
});
