/**
 * Issue 4 acceptance: a pruned generation through the WebGPU engine (GpuPruneBackend, our
 * WGSL kernels on ORT's device, Dawn) gives the same decisions and tokens as the whole
 * pipeline on the wasm engine (CpuPruneBackend, the kernels' CPU references), on
 * both fixture models, llama-clip-gqa and qwen2-siglip (4 layers each, 576 visual
 * tokens; the sparsevlm schedule scaled to their depth), at budgets 64 and 192: per stage the same visual counts, kept set and merges; the same
 * visual count entering every layer; the same 16 greedy tokens.
 *
 * Scores agree within 1e-5 relative (f32 on two devices, different summation orders), so the
 * recycling candidates — listed in descending score — are compared as sets, and wherever
 * the two lists order them differently the tokens involved must be near-tied (scores within
 * 1e-5 relative). Seen at budget 64, stage 0: two near-tied recycled tokens swap places, and
 * (with the fused layer graphs) at budget 192 the same inside a merge group's member list. The
 * kept sets, merge groups' ids and member sets, and tokens must be identical.
 *
 * ORT initialises once per process, so the wasm engine is built on the WebGPU runtime's
 * module with backend 'wasm' (its sessions use the wasm EP, its prune backend the CPU).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateResult } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader } from './fixturePackage.testutil';
import type { StageTrace } from './trace';

const NAMES = ['llama-clip-gqa', 'qwen2-siglip'];
const REL = 1e-5;

const close = (a: number, b: number) => Math.abs(a - b) <= REL * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;

/** Original id → score, for the visual tokens entering each stage (first stage: patches 0..V−1). */
function scoreMaps(stages: StageTrace[], visualTokens: number): Map<number, number>[] {
  let origin = Array.from({ length: visualTokens }, (_, i) => i);
  return stages.map((s) => {
    expect(s.scores.length, `layer ${s.layer}: one score per visual token in`).toBe(origin.length);
    const m = new Map(origin.map((id, i) => [id, s.scores[i]]));
    origin = [...s.kept, ...s.merges.map((g) => g.id)];
    return m;
  });
}

function compareStages(gpu: StageTrace[], cpu: StageTrace[], visualTokens: number): { worstScore: number; swaps: string[] } {
  expect(gpu.map((s) => [s.layer, s.visualIn, s.visualOut])).toEqual(cpu.map((s) => [s.layer, s.visualIn, s.visualOut]));
  const gpuScores = scoreMaps(gpu, visualTokens);
  let worstScore = 0;
  const swaps: string[] = [];
  gpu.forEach((g, i) => {
    const c = cpu[i];
    const where = `stage ${i} (layer ${g.layer})`;
    expect(g.kept, `${where}: kept`).toEqual(c.kept);
    // Merges: same groups and members; a group lists its members in recycling order, so the
    // near-tie swaps allowed below for `recycled` may reorder members too (same rule).
    expect(g.merges.map((m) => m.id), `${where}: merge ids`).toEqual(c.merges.map((m) => m.id));
    g.merges.forEach((m, k) => {
      const other = c.merges[k];
      expect([...m.members].sort((a, b) => a - b), `${where}: merge ${m.id} members`).toEqual([...other.members].sort((a, b) => a - b));
      m.members.forEach((id, j) => {
        if (id === other.members[j]) return;
        const a = gpuScores[i].get(id)!;
        const b = gpuScores[i].get(other.members[j])!;
        swaps.push(`${where} merge ${m.id} #${j}: ${id} (${a}) ↔ ${other.members[j]} (${b})`);
        expect(close(a, b), `${where}: merge ${m.id} member #${j} differs (${id} vs ${other.members[j]}) but the scores are not near-tied: ${a} vs ${b}`).toBe(true);
      });
    });
    expect(g.rank, `${where}: rank`).toEqual(c.rank);
    g.scores.forEach((v, j) => { if (c.scores[j] !== 0) worstScore = Math.max(worstScore, Math.abs(v - c.scores[j]) / Math.abs(c.scores[j])); });
    expect(g.scores.every((v, j) => close(v, c.scores[j])), `${where}: scores within ${REL} relative (worst so far ${worstScore.toExponential(2)})`).toBe(true);
    expect([...g.recycled].sort((a, b) => a - b), `${where}: recycled set`).toEqual([...c.recycled].sort((a, b) => a - b));
    g.recycled.forEach((id, j) => {
      if (id === c.recycled[j]) return;
      const a = gpuScores[i].get(id)!;
      const b = gpuScores[i].get(c.recycled[j])!;
      swaps.push(`${where} #${j}: ${id} (${a}) ↔ ${c.recycled[j]} (${b})`);
      expect(close(a, b), `${where}: recycled #${j} differs (${id} vs ${c.recycled[j]}) but the scores are not near-tied: ${a} vs ${b}`).toBe(true);
    });
  });
  return { worstScore, swaps };
}

describe.each(NAMES)('sparsevlm on %s: WebGPU engine (GpuPruneBackend) = wasm engine (CpuPruneBackend)', (NAME) => {
  const golden = JSON.parse(readFileSync(join(FIXTURES, NAME, 'golden.json'), 'utf8')) as { question: string };
  const image = new Uint8Array(readFileSync(join(FIXTURES, NAME, 'image.png')));
  let gpuEngine: Engine;
  let cpuEngine: Engine;

  beforeAll(async () => {
    gpuEngine = await dawnEngine();
    const { Engine } = await import('./engine');
    const rt = gpuEngine.rt;
    cpuEngine = Engine.withRuntime({ ...rt, backend: 'wasm', adapter: { ...rt.adapter, backend: 'wasm' }, fallbackReason: 'the parity test asks for wasm', device: () => null });
    const files = await fixturePackage(NAME);
    await gpuEngine.load(memoryReader(files, NAME));
    await cpuEngine.load(memoryReader(files, NAME));
    expect(gpuEngine.door).not.toBeNull();
    expect(cpuEngine.door).toBeNull();
  }, 300_000);
  afterAll(async () => { await gpuEngine?.dispose(); await cpuEngine?.dispose(); });

  it.each([64, 192])('budget %i: same stages, kept sets, merges, visual counts and 16 greedy tokens', async (budget) => {
    const run = (e: Engine): Promise<GenerateResult> => e.generate({
      image: { bytes: image, name: 'image.png' }, question: golden.question,
      settings: { method: 'sparsevlm', budget },
      options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
    });
    const gpu = await run(gpuEngine);
    const cpu = await run(cpuEngine);
    const visualTokens = gpuEngine.model!.manifest.vision.visualTokens;
    const { worstScore, swaps } = compareStages(gpu.trace.stages, cpu.trace.stages, visualTokens);
    console.log(`budget ${budget}: stages ${gpu.trace.stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut} (${s.merges.length} merged)`).join(', ')}; visual per layer ${gpu.trace.visualPerLayer.join('/')}; worst score Δ ${worstScore.toExponential(2)}; recycled order swaps: ${swaps.length ? swaps.join('; ') : 'none'}; prefill gpu ${gpu.trace.timings.prefillMs.toFixed(0)} ms, wasm ${cpu.trace.timings.prefillMs.toFixed(0)} ms`);
    expect(gpu.trace.stages.length).toBeGreaterThan(0);
    expect(gpu.trace.stages.some((s) => s.merges.length > 0), 'recycling merged something').toBe(true);
    expect(gpu.trace.visualPerLayer).toEqual(cpu.trace.visualPerLayer);
    expect(gpu.trace.raters?.raters).toEqual(cpu.trace.raters?.raters);
    const relevance = [gpu.trace.raters?.relevance ?? [], cpu.trace.raters?.relevance ?? []];
    expect(relevance[0].length).toBe(relevance[1].length);
    expect(relevance[0].every((v, i) => close(v, relevance[1][i])), 'rater relevance within 1e-5 relative').toBe(true);
    expect(gpu.inputIds).toEqual(cpu.inputIds);
    expect(gpu.tokenIds).toEqual(cpu.tokenIds);
    expect(gpu.tokenIds.length).toBe(16);
  }, 900_000);
});
