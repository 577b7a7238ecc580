/**
 * The browser bench end to end on the tiny shape (headless Chromium at /usr/bin/chromium, the
 * bench pages built by Vite, the app's worker engine): figures present and sane, the split cost
 * from the page's worker, the transformers.js peer measured on the converter's layout of the
 * same weights, the three output files. Not their speed. wasm backend: the default on this
 * software adapter (browser.ts chooseBackend), and the only one fast enough for a test here.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './args';
import type { PeerResult } from './browser';
import { runBrowserBench } from './browser';
import { writeResult } from './write';

describe('bench harness (tiny, browser)', () => {
  it('measures none and sparsevlm:64 in Chromium, the split cost and the transformers.js peer, and writes the three files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-browser-test-'));
    const o = parseBenchArgs([
      '--where',
      'browser',
      '--shape',
      'tiny',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--tokens',
      '4',
      '--methods',
      'none,sparsevlm:64',
      '--out',
      out,
    ]);
    const r = await runBrowserBench(o);
    expect(r.where).toBe('browser');
    expect(r.environment.runtime.chromium).toMatch(/\d+\./);
    expect(r.environment.runtime.backendChoice).toMatch(/software|hardware|no WebGPU/);
    expect(r.failures).toEqual([]);
    expect(r.methods.map((m) => m.spec)).toEqual(['none', 'sparsevlm:64']);
    for (const m of r.methods) {
      for (const name of [
        'visionMs',
        'llmPrefillMs',
        'layersMs',
        'ttftMs',
        'decodeTokPerS',
        'kvBytes',
        'flops',
      ] as const) {
        expect(m.figures[name]?.median, `${m.spec} ${name}`).toBeGreaterThan(0);
      }
      expect(m.figures.ttftMs!.median).toBeGreaterThanOrEqual(m.figures.visionMs!.median);
      expect(m.decodeSteps).toEqual([3]);
      expect(m.layerMs).toHaveLength(4);
    }
    const [none, sparse] = r.methods;
    expect(none.visualPerLayer[0]).toBe(576);
    expect(sparse.visualPerLayer.at(-1)).toBeLessThan(576);
    expect(sparse.figures.flops!.median).toBeLessThan(none.figures.flops!.median);
    expect(sparse.figures.kvBytes!.median).toBeLessThan(none.figures.kvBytes!.median);

    expect('notMeasured' in r.merged, JSON.stringify(r.merged)).toBe(false);
    if (!('notMeasured' in r.merged)) {
      expect(r.merged.perLayer.prefillMs.median).toBeGreaterThan(0);
      expect(r.merged.merged.prefillMs.median).toBeGreaterThan(0);
      expect(r.merged.merged.decodeTokPerS.median).toBeGreaterThan(0);
    }

    expect('notMeasured' in r.peer, JSON.stringify(r.peer)).toBe(false);
    const peer = r.peer as unknown as PeerResult;
    // Its processor expands the same chat template to the same prompt length as ours.
    expect(peer.promptTokens).toBe(peer.ours.promptTokens);
    expect(peer.ttftMs.median).toBeGreaterThan(0);
    expect(peer.decodeTokPerS.median).toBeGreaterThan(0);
    expect(peer.generatedIds).toHaveLength(4); // min = max new tokens
    expect(peer.speedup.ttft).toBeCloseTo(peer.ttftMs.median / none.figures.ttftMs!.median, 6);

    const paths = await writeResult(r, out);
    expect(JSON.parse(readFileSync(paths.json, 'utf8')).methods).toHaveLength(2);
    const md = readFileSync(paths.md, 'utf8');
    expect(md).toMatch(/\| transformers\.js \| \d+ \|/);
    expect(md).toMatch(/Per-layer sessions vs one merged decoder/);
    expect(readFileSync(paths.svg, 'utf8').startsWith('<svg')).toBe(true);
  }, 300_000);
});
