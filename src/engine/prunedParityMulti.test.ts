/**
 * Issue 15 acceptance: pruning over several images / video frames gives the same decisions on
 * WebGPU (GpuPruneBackend, our WGSL kernels on ORT's device, Dawn) as on the wasm engine
 * (CpuPruneBackend, the kernels' CPU twins): per stage the layer, visual counts, kept set,
 * merge groups (ids and member sets) and recycled set; the visual count entering every layer;
 * the raters; every greedy token. (Recycled tokens and merge members are listed by score, so
 * near-tied ones may swap places between f32 devices: compared as sets, as prunedParity.test.ts
 * explains.)
 *
 * On the 112 px fixtures (64 tokens a frame) with 8 frames of multi/frames: one visual block of
 * 8 images and the template tokens between them (526 and 519 tokens): SparseVLM v1.5 at "64"
 * (tables scaled to the span) on the first, the reference's video setting (sparsevlm-v1
 * --schedule video: one stage after layer 0 of 4, keep rank(P), recycling) on the second.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult, RequestImage } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader, wasmEngineBeside } from './fixturePackage.testutil';
import { multiGolden } from './goldenMulti.testutil';
import { readVideoFrames } from './nodeFrames';
import { locateOrigin, type StageTrace } from '../common/trace';

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

function expectSameDecisions(gpu: StageTrace[], cpu: StageTrace[]): void {
  expect(gpu.map((s) => [s.layer, s.visualIn, s.visualOut, s.rank])).toEqual(
    cpu.map((s) => [s.layer, s.visualIn, s.visualOut, s.rank]),
  );
  gpu.forEach((g, i) => {
    const c = cpu[i];
    expect(g.kept, `stage ${i}: kept`).toEqual(c.kept);
    expect(sorted(g.recycled), `stage ${i}: recycled set`).toEqual(sorted(c.recycled));
    expect(
      g.merges.map((m) => [m.id, sorted(m.members)]),
      `stage ${i}: merges`,
    ).toEqual(c.merges.map((m) => [m.id, sorted(m.members)]));
  });
}

const CASES = [
  ['llama-clip-gqa-112', 'sparsevlm', 64, {}],
  ['qwen2-siglip-112', 'sparsevlm-v1', 64, { schedule: 'video' }],
] as const;

describe.each(CASES)(
  'pruning 8 frames on %s with %s %i %o: WebGPU engine = wasm engine',
  (name, method, budget, params) => {
    let gpuEngine: Engine;
    let cpuEngine: Engine;
    let frames: RequestImage[];
    const golden = multiGolden(name);

    beforeAll(async () => {
      gpuEngine = await dawnEngine();
      cpuEngine = await wasmEngineBeside(gpuEngine, 'the parity test asks for wasm');
      const files = await fixturePackage(name);
      await gpuEngine.load(memoryReader(files, name));
      await cpuEngine.load(memoryReader(files, name));
      expect(gpuEngine.door).not.toBeNull();
      expect(cpuEngine.door).toBeNull();
      frames = (await readVideoFrames(join(FIXTURES, 'multi', 'frames'), 8)).images;
    }, 300_000);
    afterAll(async () => {
      await gpuEngine?.dispose();
      await cpuEngine?.dispose();
    });

    it('same stages, kept sets, merges, visual counts and 16 greedy tokens', async () => {
      const run = (e: Engine): Promise<GenerateResult> =>
        e.generate({
          images: frames,
          question: golden.question,
          settings: { method, budget, params },
          options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
          onToken: () => {},
        });
      const gpu = await run(gpuEngine);
      const cpu = await run(cpuEngine);
      const stages = gpu.trace.stages;
      const perImage = (s: StageTrace) => {
        const counts = new Array<number>(8).fill(0);
        for (const id of s.kept) {
          const o = locateOrigin(gpu.trace, id);
          if (o.kind === 'patch') counts[o.image]++;
        }
        return counts.join(',');
      };
      console.log(
        `${name} ${method} ${budget} ${JSON.stringify(params)}: ${stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut} (rank ${s.rank ?? '-'}, ${s.merges.length} merged, kept per frame ${perImage(s)})`).join('; ')}; visual per layer ${gpu.trace.visualPerLayer.join('/')}; tokens ${gpu.tokenIds.join(',')}`,
      );
      expect(gpu.inputIds).toEqual(golden.input_ids);
      expect(stages.length, 'the method pruned').toBeGreaterThan(0);
      expect(
        stages.some((s) => s.merges.length > 0),
        'recycling merged something',
      ).toBe(true);
      expectSameDecisions(stages, cpu.trace.stages);
      expect(gpu.trace.visualPerLayer).toEqual(cpu.trace.visualPerLayer);
      expect(gpu.trace.visualPerLayer[0]).toBe(
        golden.image_starts[7] + golden.tokens_per_image - golden.image_starts[0],
      );
      expect(gpu.trace.raters?.raters).toEqual(cpu.trace.raters?.raters);
      expect(gpu.trace.images).toEqual(cpu.trace.images);
      expect(gpu.tokenIds).toEqual(cpu.tokenIds);
      expect(gpu.tokenIds.length).toBe(16);
    }, 900_000);
  },
);
