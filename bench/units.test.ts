/** Pure parts of the bench: arguments, order statistics, ratios, SVG layout, the native planner (python). */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BenchArgError, parseBenchArgs, parseMethods } from './args';
import { runFigures, withRatios, type MethodResult } from './measure';
import { nativePlan } from './native/plan';
import { spread } from './stats';
import { chartLayout, phaseMs, renderSvg } from './svg';

const row = (spec: string, prefill: number, method: number, counts: number[]): MethodResult => ({
  spec,
  method: spec,
  budget: null,
  ratios: {},
  kernelShareOfPrefill: 0,
  layerMs: [],
  layout: { preLength: 2, visualCount: 576, textLength: 12 },
  visualPerLayer: counts,
  stages: [],
  decodeSteps: [63],
  generatedIds: [],
  figures: {
    visionMs: spread([10]),
    llmPrefillMs: spread([prefill]),
    methodMs: spread([method]),
    decodeTokPerS: spread([63]),
  },
});

describe('bench units', () => {
  it('parses flags and puts none first, once', () => {
    const o = parseBenchArgs(['--shape', 'small', '--methods', 'fastv:64,none,sparsevlm:64,fastv:64', '--runs', '3']);
    expect(o.methods.map((m) => m.spec)).toEqual(['none', 'fastv:64', 'sparsevlm:64']);
    expect(o.methods[2].settings).toEqual({ method: 'sparsevlm', budget: 64 });
    expect(parseMethods('sparsevlm:64')[0].spec).toBe('none');
    expect(() => parseBenchArgs(['--shape', 'huge'])).toThrow(BenchArgError);
    expect(() => parseBenchArgs(['--runs', '0'])).toThrow(/--runs/);
    expect(() => parseBenchArgs(['--bogus'])).toThrow(/unknown flag/);
  });

  it('parses the video row: --frames, --video, method parameters after +', () => {
    const o = parseBenchArgs(['--frames', '8', '--methods', 'none,sparsevlm-v1+schedule=video,fastv:135']);
    expect(o.video).toEqual({ frames: 8 });
    expect(o.methods.map((m) => m.settings)).toEqual([
      { method: 'none' },
      { method: 'sparsevlm-v1', params: { schedule: 'video' } },
      { method: 'fastv', budget: 135 },
    ]);
    expect(parseBenchArgs(['--frames', '4', '--video', 'v.gif']).video).toEqual({ frames: 4, path: 'v.gif' });
    expect(parseBenchArgs(['--methods', 'fastv:64+K=3+R=0.5']).methods[1].settings).toEqual({
      method: 'fastv',
      budget: 64,
      params: { K: '3', R: '0.5' },
    });
    expect(() => parseBenchArgs(['--video', 'v.gif'])).toThrow(/--video: give --frames N/);
    expect(() => parseBenchArgs(['--frames', '0'])).toThrow(/--frames/);
    expect(() => parseBenchArgs(['--where', 'browser', '--frames', '8'])).toThrow(/Node only/);
    expect(() => parseBenchArgs(['--methods', 'fastv+K'])).toThrow(/\+param=value/);
  });

  it('gives numpy-style quartiles and refuses non-finite values', () => {
    expect(spread([3, 1, 2, 10])).toEqual({ median: 2.5, min: 1, max: 10, q1: 1.75, q3: 4.75, n: 4 });
    expect(() => spread([1, NaN])).toThrow(RangeError);
  });

  it('computes ratios to none and per-run figures from a trace', () => {
    const rows = withRatios([row('none', 100, 0, [576, 576]), row('x', 40, 2, [576, 64])]);
    expect(rows[0].ratios.llmPrefillMs).toBe(1);
    expect(rows[1].ratios.llmPrefillMs).toBeCloseTo(0.4);
    expect(rows[1].ratios.methodMs).toBeNull();
    const f = runFigures({
      peakGpuBytes: 1000,
      trace: {
        timings: {
          clock: 'wall',
          visionMs: 5,
          embedMs: 1,
          layerMs: [2, 3],
          methodMs: 1,
          headMs: 1,
          prefillMs: 15,
          firstTokenMs: 16,
          decodeStepMs: [10, 10],
          totalMs: 40,
        },
        cost: { flops: 7, flopsUnpruned: 9, kvBytesPerLayer: [4, 6], kvBytesUnpruned: 12 },
      } as never,
    });
    expect(f).toMatchObject({
      visionMs: 5,
      llmPrefillMs: 8,
      layersMs: 5,
      methodMs: 1,
      ttftMs: 16,
      decodeTokPerS: 100,
      kvBytes: 10,
      flops: 7,
      peakGpuBytes: 1000,
    });
  });

  it('lays out stacked phase bars and step lines that stay inside the chart', () => {
    const rows = [row('none', 100, 0, [576, 576, 576]), row('sparsevlm:64', 40, 2, [576, 82, 18])];
    expect(phaseMs(rows[1])).toEqual([10, 38, 2, 1000]);
    const c = chartLayout(rows, 't');
    for (const r of c.rects) {
      expect(r.x + r.width).toBeLessThanOrEqual(c.width);
      expect(r.y + r.height).toBeLessThanOrEqual(c.height);
    }
    expect(c.lines[1].points).toHaveLength(5); // 3 layers + 2 steps
    expect(renderSvg(c)).toMatch(/^<svg[^>]+viewBox="0 0 \d+ \d+"/);
  });

  it('plans the native replay from the TS schedule (brief: 82, 32, 18 for "64")', () => {
    const p = nativePlan({ preLength: 2, textLength: 12 });
    expect([...new Set(p.schedules['sparsevlm:64'])]).toEqual([576, 82, 32, 18]);
    expect(p.schedules['sparsevlm:64'].slice(0, 8)).toEqual([576, 576, 576, 82, 82, 82, 82, 32]);
  });

  it('passes the native reference planning tests (python, no torch)', () => {
    const out = execFileSync('python3', ['-m', 'unittest', 'bench/native/test_torch_reference.py'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('');
  });
});
