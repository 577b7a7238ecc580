import { describe, expect, it } from 'vitest';
import { parseLlavaConfig } from '../checkpoint/config';
import { convertCheckpoint } from '../convert';
import { openCheckpointDir } from '../checkpoint/nodeCheckpoint';
import { SYNTHETIC_SHAPES } from '../synthetic/synthetic';
import { chooseDtype } from './dtype';
import { RateMeter } from './meter';
import { estimatePackage, preflight, PreflightError } from './preflight';
import { MemorySink } from '../../package/sink';

const FIXTURE = new URL('../../../fixtures/qwen2-siglip/', import.meta.url).pathname;
const GB = 1e9;

describe('estimatePackage', () => {
  it('is at most 2% over and 15% under the real q4 and fp32 packages of the Qwen2 + SigLIP fixture (graphs only)', async () => {
    const ckpt = await openCheckpointDir(FIXTURE);
    for (const dtype of ['q4', 'fp32'] as const) {
      const sink = new MemorySink();
      const files = await convertCheckpoint(ckpt, { dtype, sink });
      const graphBytes = files.filter((f) => /\.onnx(\.data)?$/.test(f.path)).reduce((n, f) => n + f.bytes, 0);
      const est = estimatePackage(ckpt.config, dtype);
      // Graph files also hold the protobuf skeleton (nodes, names, constants): a few KB per
      // graph, which is 12% of this tiny model's q4 package and nothing at 0.5B–7B.
      expect(est.weightBytes / graphBytes, dtype).toBeGreaterThan(0.85);
      expect(est.weightBytes / graphBytes, dtype).toBeLessThan(1.02);
    }
  });

  it('gives the sizes people know for the real models', () => {
    const llava7b = estimatePackage(parseLlavaConfig(SYNTHETIC_SHAPES['llava-1.5-7b'].config), 'q4');
    expect(llava7b.weightBytes / GB).toBeGreaterThan(3.5); // ~7.06B parameters
    expect(llava7b.weightBytes / GB).toBeLessThan(5.2); // int4 + f32 scales + zero points ≈ 0.64 B/param, f32 embedding table
    expect(llava7b.largestTensor).toBe('text.embed_tokens.weight'); // 32000·4096·4 bytes, kept in f32
    const qwen = estimatePackage(parseLlavaConfig(SYNTHETIC_SHAPES['interleave-qwen-0.5b'].config), 'q4f16');
    expect(qwen.weightBytes / GB).toBeGreaterThan(0.5);
    expect(qwen.weightBytes / GB).toBeLessThan(1.0);
  });
});

describe('preflight', () => {
  const config = parseLlavaConfig(SYNTHETIC_SHAPES['llava-1.5-7b'].config);
  const base = {
    id: 'llava-hf/llava-1.5-7b-hf',
    config,
    dtype: 'q4' as const,
    downloadBytes: 14.1 * GB,
    sideFileBytes: 2e6,
    adapter: null,
  };

  it('refuses when the quota cannot hold download + package, with the numbers', () => {
    const err = (() => {
      try {
        preflight({ ...base, storage: { quota: 10 * GB, usage: 1 * GB } });
      } catch (e) {
        return e;
      }
    })() as PreflightError;
    expect(err).toBeInstanceOf(PreflightError);
    expect(err.reason).toBe('storage-quota');
    expect(err.figures.freeBytes).toBe(9 * GB);
    expect(err.figures.downloadBytes).toBe(14.1 * GB);
    expect(err.figures.needBytes).toBe(err.figures.downloadBytes + err.figures.packageBytes);
    expect(err.message).toMatch(
      /^llava-hf\/llava-1\.5-7b-hf: needs [\d,]+ MB of browser storage \(download 14,100 MB \+ package [\d,]+ MB\) but only 9,000 MB is free \(quota 10,000 MB, used 1,000 MB\)$/,
    );
  });

  it('refuses a tensor larger than the adapter allows in one buffer, and too little GPU memory', () => {
    const small = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
    expect(() => preflight({ ...base, storage: null, adapter: small })).toThrow(
      /largest tensor \(text\.embed_tokens\.weight, 525 MB\) exceeds this GPU's largest buffer \(135 MB\)/,
    );
    const big = { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31 };
    expect(() => preflight({ ...base, storage: null, adapter: { ...big, memoryBytes: 2 * GB } })).toThrow(
      PreflightError,
    );
    const ok = preflight({
      ...base,
      storage: { quota: 100 * GB, usage: 0 },
      adapter: { ...big, memoryBytes: 16 * GB },
    });
    expect(ok.needBytes).toBe(base.downloadBytes + ok.packageBytes);
  });
});

describe('chooseDtype', () => {
  it('q4f16 with shader-f16, q4 without, q4 without an adapter; reasons name the feature', () => {
    expect(chooseDtype({ features: new Set(['shader-f16', 'timestamp-query']) })).toMatchObject({
      dtype: 'q4f16',
      reason: expect.stringMatching(/supports shader-f16/),
    });
    expect(chooseDtype({ features: new Set<string>() })).toMatchObject({
      dtype: 'q4',
      reason: expect.stringMatching(/lacks shader-f16/),
    });
    expect(chooseDtype({ shaderF16: true }).dtype).toBe('q4f16');
    expect(chooseDtype(null).dtype).toBe('q4');
  });
});

describe('RateMeter', () => {
  it('measures over a sliding window and estimates the time left', () => {
    let t = 0;
    const m = new RateMeter(2000, () => t);
    expect(m.update(0, 1000)).toEqual({ rate: null, etaS: null });
    t = 1000;
    expect(m.update(100, 1000)).toEqual({ rate: 100, etaS: 9 });
    t = 2000;
    m.update(200, 1000);
    t = 3000;
    m.update(200, 1000);
    t = 4000;
    // The window now spans 2000..4000 ms: a stall shows as a falling rate.
    expect(m.update(200, 1000).rate).toBeCloseTo(0, 5);
  });
});
