import { describe, expect, it } from 'vitest';
import { blobToDataUrl, buildExport, newRunId, runMetrics, thumbnailSize, type StoredRun } from './runsDb';

const run = (id: string, createdAt: number, thumbnail: Blob | null = null): StoredRun => ({
  id,
  createdAt,
  model: 'synthetic-tiny',
  imageName: 'cat.png',
  thumbnail,
  question: 'What is it?',
  settings: { method: 'sparsevlm', budget: 64 },
  label: 'SparseVLM 64',
  answer: 'a cat',
  trace: null,
  metrics: runMetrics(5, 100, 500, 600),
});

describe('run records', () => {
  it('shrinks thumbnails to 160 px on the longer side, keeps aspect, never upscales', () => {
    expect(thumbnailSize(640, 480)).toEqual({ width: 160, height: 120 });
    expect(thumbnailSize(300, 1200)).toEqual({ width: 40, height: 160 });
    expect(thumbnailSize(100, 50)).toEqual({ width: 100, height: 50 });
    expect(thumbnailSize(12000, 3)).toEqual({ width: 160, height: 1 });
  });

  it('computes decode speed from the tokens after the first', () => {
    expect(runMetrics(5, 100, 500, 600)).toEqual({ tokenCount: 5, firstTokenMs: 100, totalMs: 600, tokensPerS: 10 });
    expect(runMetrics(1, 100, 100, 120).tokensPerS).toBeNull();
    expect(runMetrics(0, null, null, null).tokensPerS).toBeNull();
  });

  it('makes ids that differ and sort by time', () => {
    const a = newRunId(1000);
    const b = newRunId(2000);
    expect(a).not.toBe(newRunId(1000));
    expect(a < b).toBe(true);
  });

  it('exports newest first with thumbnails as data URLs that decode to the same bytes', async () => {
    const png = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255])], { type: 'image/png' });
    const runs = [run('a', 1, png), run('b', 3), run('c', 2)];
    const url = await blobToDataUrl(png);
    expect(url).toBe(`data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]).toString('base64')}`);
    const doc = buildExport(runs, new Map([['a', url]]), new Date('2025-01-02T03:04:05Z'));
    expect(doc.runs.map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(doc.runs[2].thumbnail).toBe(url);
    expect(doc.runs[0].thumbnail).toBeNull();
    expect(JSON.parse(JSON.stringify(doc))).toEqual({ ...doc, runs: doc.runs.map((r) => ({ ...r })) });
    expect(doc.exportedAt).toBe('2025-01-02T03:04:05.000Z');
  });
});
