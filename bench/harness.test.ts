/**
 * The bench end to end on the tiny shape in Node on Dawn: figures present and sane, ratios against `none`, the schedule's token counts, the
 * three output files. Not their speed. Slow on a loaded 2-core machine (ORT's first session
 * compiles its wasm), hence one run of few tokens.
 *
 * WebGPU on Dawn (SwiftShader here, the real GPU on the GPU machine) with pruning through
 * src/gpu's GpuPruneBackend on ORT's device, as the bench runs on the GPU machine. The Node
 * setup (setupNodeGpu) forces liftoff-only wasm and holds the event loop: without it V8's
 * Turbofan tier-up of ORT's wasm starves a 2-core machine (src/cli/shared/nodeGpu.ts).
 */
const BACKEND = 'webgpu';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args';
import { nativePlan } from './native/plan';
import { runNodeBench } from './run';
import { resultStem, writeResult } from './write';
import { createMethod } from '../src/prune/registry';
import { plannedVisualCounts } from '../src/prune/schedule';

describe('bench harness (tiny, Node)', () => {
  it('measures none and the pruning methods with sane figures and writes JSON, markdown and SVG', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-test-'));
    const o = parseBenchArgs([
      '--where',
      'node',
      '--backend',
      BACKEND,
      '--shape',
      'tiny',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--tokens',
      '3',
      '--methods',
      'sparsevlm:64,none,fastv:64',
      '--out',
      out,
      '--checkpoint',
    ]);
    const r = await runNodeBench(o);
    // --checkpoint: the round's figures were on disk before the run returned (the GPU run relies on it).
    const early = JSON.parse(readFileSync(join(out, `${resultStem(r)}.json`), 'utf8'));
    expect(early.methods.map((m: { spec: string }) => m.spec)).toEqual(['none', 'sparsevlm:64', 'fastv:64']);
    expect(early.merged.notMeasured).toMatch(/cut short/);
    // Dawn must have given an adapter: a silent fall back to wasm would test the CPU prune backend.
    expect(r.environment.adapter.backend, r.environment.runtime.vulkan).toBe('webgpu');
    expect(r.failures).toEqual([]);
    expect(r.methods.map((m) => m.spec)).toEqual(['none', 'sparsevlm:64', 'fastv:64']);
    const dims = {
      numLayers: 4,
      hiddenSize: 64,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      intermediateSize: 128,
      ropeTheta: 10000,
      visualTokens: 576,
    };
    for (const m of r.methods) {
      const f = m.figures;
      for (const name of [
        'visionMs',
        'llmPrefillMs',
        'layersMs',
        'ttftMs',
        'decodeTokPerS',
        'kvBytes',
        'flops',
      ] as const) {
        expect(f[name], `${m.spec} ${name}`).toBeDefined();
        expect(f[name]!.median, `${m.spec} ${name}`).toBeGreaterThan(0);
        expect(f[name]!.min).toBeLessThanOrEqual(f[name]!.max);
      }
      expect(f.ttftMs!.median).toBeGreaterThanOrEqual(f.visionMs!.median);
      expect(m.decodeSteps).toEqual([2]); // 3 tokens forced: the first from prefill, 2 decode steps
      expect(m.layerMs).toHaveLength(4);
      // The engine's schedule is the method's plan (visual tokens entering each layer).
      const { settings } = o.methods.find((s) => s.spec === m.spec)!;
      expect(m.visualPerLayer).toEqual(
        plannedVisualCounts(createMethod(settings.method, { budget: settings.budget }, dims), dims),
      );
      expect(f.peakGpuBytes!.median, `${m.spec} peakGpuBytes`).toBeGreaterThan(0);
    }
    const [none, sparse, fastv] = r.methods;
    for (const v of Object.values(none.ratios)) expect(v).toBe(1);
    expect(none.figures.methodMs!.median).toBeLessThan(sparse.figures.methodMs!.median);
    expect(sparse.figures.flops!.median).toBeLessThan(none.figures.flops!.median);
    expect(sparse.ratios.flops!).toBeLessThan(1);
    expect(sparse.figures.kvBytes!.median).toBeLessThan(none.figures.kvBytes!.median);
    expect(fastv.figures.flops!.median).toBeLessThan(none.figures.flops!.median);
    expect(sparse.stages.map((s) => s.visualOut)).toEqual(
      sparse.visualPerLayer.filter((v, l, a) => l > 0 && v !== a[l - 1]),
    );
    expect(r.model.layout.visualCount).toBe(576);

    // Split cost: the converter's merged decoder against the per-layer sessions, same weights.
    expect('notMeasured' in r.merged, JSON.stringify(r.merged)).toBe(false);
    if (!('notMeasured' in r.merged)) {
      expect(r.merged.perLayer.prefillMs.median).toBeGreaterThan(0);
      expect(r.merged.merged.decodeTokPerS.median).toBeGreaterThan(0);
      expect(r.merged.prefillCost).toBeGreaterThan(0);
    }

    // The committed native plan replays our prompt's layout and schedules.
    const plan = JSON.parse(readFileSync(new URL('./native/plan.json', import.meta.url), 'utf8'));
    expect(plan).toEqual(JSON.parse(JSON.stringify(nativePlan(r.model.layout))));

    const paths = await writeResult(r, out);
    const json = JSON.parse(readFileSync(paths.json, 'utf8'));
    expect(json.methods).toHaveLength(3);
    expect(json.native.notMeasured).toMatch(/torch_reference/);
    const md = readFileSync(paths.md, 'utf8');
    expect(md).toMatch(/\| sparsevlm:64 \|/);
    expect(md).toMatch(/\(1\.00×\)/);
    const svg = readFileSync(paths.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toMatch(/sparsevlm:64 vision: [\d.]+ ms/);
  }, 900_000);
});

// The video row's harness path (--frames: frames read and sampled, fed as images, span, result
// files) on the wasm backend: 45 s here where Dawn on SwiftShader took 260 s for the same two
// frames; WebGPU for several images is prunedParityMulti's, the GPU row is bench/gpu/run.sh's.
describe('bench harness, video row (tiny, Node, wasm)', () => {
  it('feeds N frames of a video as images and measures none, SparseVLM video schedule and FastV on their span', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-video-'));
    const o = parseBenchArgs([
      '--where',
      'node',
      '--backend',
      'wasm',
      '--shape',
      'tiny',
      '--frames',
      '2',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--tokens',
      '2',
      '--no-merged',
      '--methods',
      'none,sparsevlm-v1+schedule=video,fastv:135',
      '--out',
      out,
    ]);
    expect(o.methods[1].settings).toEqual({ method: 'sparsevlm-v1', params: { schedule: 'video' } });
    const r = await runNodeBench(o);
    expect(r.failures).toEqual([]);
    // fixtures/multi/frames.gif has 24 frames: 2 sampled uniformly are the first and the last.
    expect(r.options.video).toEqual({ frames: 2, sourceFrames: 24, indices: [0, 23] });
    expect(r.options.image).toBe('frames.gif');
    expect(r.options.question).toMatch(/video/);
    // Two frames of 576 tokens, one separator between them (the template's `<image>\n`).
    const layout = r.model.layout;
    expect(layout.visualCount).toBeGreaterThan(2 * 576);
    expect(layout.visualCount).toBeLessThan(2 * 576 + 4);
    const [none, sparse, fastv] = r.methods;
    expect(none.visualPerLayer.every((v) => v === layout.visualCount)).toBe(true);
    // The reference's video branch: one stage, after layer 1 scaled to 4 layers (layer 0), keep
    // rank(P) plus recycled clusters — far below the span.
    expect(sparse.stages).toHaveLength(1);
    expect(sparse.stages[0]).toMatchObject({ layer: 0, visualIn: layout.visualCount });
    expect(sparse.stages[0].visualOut).toBeLessThan(layout.visualCount / 4);
    // FastV's plan scaled to the span, as the engine does for several images.
    const dims = {
      numLayers: 4,
      hiddenSize: 64,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      intermediateSize: 128,
      ropeTheta: 10000,
      visualTokens: layout.visualCount,
    };
    expect(fastv.visualPerLayer).toEqual(plannedVisualCounts(createMethod('fastv', { budget: 135 }, dims), dims));
    for (const m of r.methods) {
      expect(m.figures.ttftMs!.median, m.spec).toBeGreaterThan(0);
      expect(m.figures.visionMs!.median, m.spec).toBeGreaterThan(0);
    }
    expect(sparse.figures.kvBytes!.median).toBeLessThan(none.figures.kvBytes!.median);
    const paths = await writeResult(r, out);
    expect(paths.json).toMatch(/-node-tiny-2frames\.json$/);
    const md = readFileSync(paths.md, 'utf8');
    expect(md).toMatch(/a video: 2 frames of frames\.gif's 24, indices 0, 23/);
    expect(md).toMatch(/\| sparsevlm-v1\+schedule=video \|/);
    expect(md).toMatch(/Equal tokens .*: none [\d.]+, sparsevlm-v1\+schedule=video [\d.]+, fastv:135 [\d.]+\./);
  }, 900_000);
});
