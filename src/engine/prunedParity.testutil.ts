/**
 * The comparison behind the pruned-parity tests (prunedParity*.test.ts): a pruned generation
 * on the WebGPU engine (GpuPruneBackend, our WGSL kernels on ORT's device, Dawn) against the
 * same request on the wasm engine (CpuPruneBackend, the kernels' f64 CPU twins).
 *
 * What must agree: pruneParity.ts (scores within 1e-5 relative by default: f32 on two
 * devices, different summation orders).
 *
 * ORT initialises once per process, so the wasm engine is built on the WebGPU runtime's
 * module with backend 'wasm' (its sessions use the wasm EP, its prune backend the CPU).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Engine, GenerateResult } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader, wasmEngineBeside } from './fixturePackage.testutil';
import type { StageTrace } from '../common/trace';
import { generationParity, stageParity } from './pruneParity';
import type { PackageDtype } from '../package/manifest';

/** Score agreement, relative: 1e-5 after a few layers; deeper stages carry more f32 drift (per-test). */
export const REL = 1e-5;

/** The stages of two runs agree (pruneParity.ts says how); throws listing every difference. */
export function compareStages(
  gpu: StageTrace[],
  cpu: StageTrace[],
  visualTokens: number,
  rel = REL,
): { worstScore: number; swaps: string[] } {
  const { problems, worstScore, swaps } = stageParity(gpu, cpu, visualTokens, rel);
  expect(problems, `stages differ (worst score Δ ${worstScore.toExponential(2)})`).toEqual([]);
  return { worstScore, swaps };
}

export interface ParityPair {
  name: string;
  gpu: Engine;
  cpu: Engine;
  question: string;
  image: Uint8Array;
  dispose(): Promise<void>;
}

/** A WebGPU engine (Dawn) and a wasm engine with fixtures/<name> converted to `dtype` loaded in both. */
export async function parityPair(name: string, dtype: PackageDtype = 'fp32'): Promise<ParityPair> {
  const gpu = await dawnEngine();
  const cpu = await wasmEngineBeside(gpu, 'the parity test asks for wasm');
  const files = await fixturePackage(name, dtype);
  await gpu.load(memoryReader(files, name));
  await cpu.load(memoryReader(files, name));
  expect(gpu.door).not.toBeNull();
  expect(cpu.door).toBeNull();
  const golden = JSON.parse(readFileSync(join(FIXTURES, name, 'golden.json'), 'utf8')) as { question: string };
  const image = new Uint8Array(readFileSync(join(FIXTURES, name, 'image.png')));
  return {
    name,
    gpu,
    cpu,
    question: golden.question,
    image,
    async dispose() {
      await gpu.dispose();
      await cpu.dispose();
    },
  };
}

/** Run `method` at `budget` on both engines (16 greedy tokens) and assert parity; returns both results and a one-line summary. */
export async function expectParity(
  pair: ParityPair,
  method: string,
  budget: number | undefined,
  rel = REL,
): Promise<{ gpu: GenerateResult; cpu: GenerateResult; summary: string }> {
  const run = (e: Engine): Promise<GenerateResult> =>
    e.generate({
      image: { bytes: pair.image, name: 'image.png' },
      question: pair.question,
      settings: { method, budget },
      options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
    });
  const gpu = await run(pair.gpu);
  const cpu = await run(pair.cpu);
  const visualTokens = pair.gpu.model!.manifest.vision.visualTokens;
  const { problems, worstScore, swaps } = generationParity(gpu, cpu, visualTokens, rel);
  expect(problems, `WebGPU vs wasm (worst score Δ ${worstScore.toExponential(2)})`).toEqual([]);
  expect(gpu.trace.stages.length, 'the method pruned').toBeGreaterThan(0);
  expect(gpu.tokenIds.length).toBe(16);
  const merged = gpu.trace.stages.reduce((a, s) => a + s.merges.length, 0);
  const summary = `${method} ${budget ?? ''}: stages ${gpu.trace.stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut}`).join(', ')} (${merged} merged); visual per layer ${gpu.trace.visualPerLayer.join('/')}; worst score Δ ${worstScore.toExponential(2)}; order swaps: ${swaps.length ? swaps.join('; ') : 'none'}; prefill gpu ${gpu.trace.timings.prefillMs.toFixed(0)} ms, wasm ${cpu.trace.timings.prefillMs.toFixed(0)} ms`;
  return { gpu, cpu, summary };
}
