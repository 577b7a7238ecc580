import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FromWorker, ToWorker } from '../engine/protocol';
import { smallTrace } from '../ui/charts/fixtures/traces';
import { connectEngine, handleMessage } from './engine';
import { setImageFromBlob, setQuestion } from './input';
import { loadFromFolder, loadFromUrl, startEngine } from './model';
import { TINY_MODEL } from './tinyModel.testutil';
import { methodEntry } from './methods';
import { ProgressMeter } from './progress';
import { ask, currentSettings, setCompareEnabled, stop } from './runs';
import { setBudget, setMethod, setParam, setSampling } from './settings';
import { settingsPatch } from './sessionSync';
import { getState, resetStore } from './store';

// The store talks to the engine only by protocol messages; this link records what it posts.
const posted: ToWorker[] = [];
connectEngine({ post: (m) => posted.push(m), subscribe: () => {} });
const accept = async () => {};
const samplePng = () => new Blob([readFileSync('public/samples/shapes.png')], { type: 'image/png' });
const model = TINY_MODEL;

async function readyWithImage() {
  startEngine(true);
  const load = posted.find((m) => m.type === 'load')!;
  handleMessage({ type: 'loaded', id: load.id, model });
  expect(await setImageFromBlob(samplePng(), 'shapes.png', accept)).toBe(true);
  setQuestion('What shapes?');
}
const lastGenerate = () =>
  posted.filter((m) => m.type === 'generate').at(-1) as Extract<ToWorker, { type: 'generate' }>;
const finish = (id: number, text = 'abc') =>
  handleMessage({ type: 'done', id, text, trace: smallTrace() } as FromWorker);

beforeEach(() => {
  resetStore();
  posted.length = 0;
});

describe('model slice', () => {
  it('inits on webgpu (or wasm without it) and loads the bundled synthetic model', () => {
    startEngine(false);
    expect(posted[0]).toMatchObject({ type: 'init', preferBackend: 'wasm' });
    expect(posted[1]).toMatchObject({ type: 'load', source: { kind: 'url', url: '/models/synthetic-tiny/' } });
    expect(getState()).toMatchObject({ noWebGpu: true, status: 'loading' });
    handleMessage({
      type: 'progress',
      id: posted[1].id,
      progress: { phase: 'download', loadedBytes: 10, totalBytes: 100, filesDone: 0, filesTotal: 3 },
    });
    expect(getState().progress).toMatchObject({ loadedBytes: 10, totalBytes: 100 });
    handleMessage({
      type: 'error',
      id: posted[1].id,
      where: 'model',
      code: 'manifest-missing',
      message: 'no manifest',
    });
    expect(getState().status).toBe('error');
    expect(getState().errors.model?.code).toBe('manifest-missing');
  });
  it('a package refused before the old model is released keeps the old model loaded and usable', async () => {
    await readyWithImage();
    loadFromUrl('http://127.0.0.1:9/nothing');
    const load = posted.at(-1) as Extract<ToWorker, { type: 'load' }>;
    expect(getState().status).toBe('loading');
    handleMessage({
      type: 'error',
      id: load.id,
      where: 'model',
      code: 'fetch-failed',
      message: 'Could not fetch manifest.json.',
      loaded: model,
    });
    expect(getState()).toMatchObject({ status: 'ready', info: model, sourceLabel: 'Synthetic tiny (bundled)' });
    expect(getState().lastSource?.source).toEqual({ kind: 'url', url: '/models/synthetic-tiny/' }); // what a device loss would reload
    expect(getState().errors.model?.message).toBe(
      'Could not fetch manifest.json. Synthetic tiny (bundled) is still loaded.',
    );
    ask();
    expect(lastGenerate()).toBeDefined();
  });
  it('a load that failed after the old model was released says no model is loaded', async () => {
    await readyWithImage();
    loadFromUrl('/models/broken/');
    const load = posted.at(-1) as Extract<ToWorker, { type: 'load' }>;
    handleMessage({
      type: 'error',
      id: load.id,
      where: 'model',
      code: 'sha256-mismatch',
      message: 'layers/00.onnx is damaged.',
      loaded: null,
    });
    expect(getState()).toMatchObject({ status: 'error', info: null });
  });
  it('a picked folder is sent with paths relative to it, and must hold manifest.json', () => {
    const file = (path: string) => Object.assign(new File(['x'], path.split('/').pop()!), { webkitRelativePath: path });
    loadFromFolder([file('pkg/manifest.json'), file('pkg/layers/00.onnx')]);
    const load = posted.at(-1) as Extract<ToWorker, { type: 'load' }>;
    expect(load.source.kind === 'files' && load.source.files.map((f) => f.path)).toEqual([
      'manifest.json',
      'layers/00.onnx',
    ]);
    loadFromFolder([file('other/readme.txt')]);
    expect(getState().errors.model?.code).toBe('manifest-missing');
  });
});

describe("method labels in the loaded model's numbers", () => {
  it("names the scaled stage layers and the model's visual-token count", () => {
    expect(methodEntry('sparsevlm', { numLayers: 32, visualTokens: 576 }).note).toContain('after layers 2, 6 and 15');
    expect(methodEntry('sparsevlm', { numLayers: 24, visualTokens: 729 }).note).toContain('after layers 1, 4 and 11');
    expect(methodEntry('none', { numLayers: 24, visualTokens: 729 }).label).toBe('None (all 729 tokens)');
    expect(methodEntry('pdrop', { numLayers: 24, visualTokens: 729 }).note).toMatch(/^Before layers \d+, \d+ and \d+,/);
  });
});

describe('progress meter', () => {
  it('gives rate over the window and time left', () => {
    const meter = new ProgressMeter();
    const p = (loadedBytes: number) => ({
      phase: 'download' as const,
      loadedBytes,
      totalBytes: 10_000,
      filesDone: 0,
      filesTotal: 1,
    });
    expect(meter.update(p(0), 0).rate).toBeNull();
    const f = meter.update(p(2000), 1000);
    expect(f.rate).toBeCloseTo(2000);
    expect(f.remainingS).toBeCloseTo(4);
  });
});

describe('input slice', () => {
  it('refuses a text file and an oversized PNG by their headers, keeping the previous image', async () => {
    expect(await setImageFromBlob(samplePng(), 'shapes.png', accept)).toBe(true);
    expect(getState().image).toMatchObject({ width: 336, height: 336, mime: 'image/png' });
    expect(await setImageFromBlob(new Blob(['hello']), 'notes.txt', accept)).toBe(false);
    expect(getState().errors.input?.code).toBe('not-an-image');
    const big = new Uint8Array(readFileSync('public/samples/shapes.png'));
    new DataView(big.buffer).setUint32(16, 12000);
    new DataView(big.buffer).setUint32(20, 12000);
    expect(await setImageFromBlob(new Blob([big]), 'big.png', accept)).toBe(false);
    expect(getState().errors.input?.code).toBe('image-too-large');
    expect(getState().image?.name).toBe('shapes.png');
  });
  it('reports an image whose pixel data does not decode', async () => {
    expect(
      await setImageFromBlob(samplePng(), 'bad.png', async () => {
        throw new Error('decode');
      }),
    ).toBe(false);
    expect(getState().errors.input?.code).toBe('corrupt-image');
  });
});

describe('runs slice', () => {
  it('asks, streams tokens, finishes with the trace; the same settings again reuse the answer', async () => {
    await readyWithImage();
    ask();
    const g = lastGenerate();
    expect(g).toMatchObject({ question: 'What shapes?', settings: { method: 'sparsevlm', budget: 64 } }); // a pruned default
    expect(g.image.bytes.byteLength).toBe(getState().image!.bytes.byteLength);
    handleMessage({ type: 'token', id: g.id, tokenId: 5, text: '<img src=x>', elapsedMs: 120 });
    handleMessage({ type: 'token', id: g.id, tokenId: 6, text: ' b', elapsedMs: 150 });
    expect(getState().runs[0]).toMatchObject({
      status: 'running',
      text: '<img src=x> b',
      tokenCount: 2,
      firstTokenMs: 120,
      lastTokenMs: 150,
    });
    finish(g.id, '<img src=x> b');
    expect(getState().runs[0]).toMatchObject({ status: 'done', totalMs: 80 });
    const before = posted.length;
    ask();
    expect(posted.length).toBe(before); // cached
    setMethod('sparsevlm');
    setBudget(64);
    setParam('sparsevlm', 'recycling', false); // a changed parameter: another run
    expect(currentSettings()).toEqual({ method: 'sparsevlm', budget: 64, params: { recycling: false } });
    ask();
    expect(lastGenerate().settings).toEqual({ method: 'sparsevlm', budget: 64, params: { recycling: false } });
  });
  it('stop cancels the running request and a cancelled answer is not an error', async () => {
    await readyWithImage();
    ask();
    const g = lastGenerate();
    stop();
    expect(posted.at(-1)).toEqual({ type: 'cancel', id: g.id });
    expect(getState().runs[0].status).toBe('stopping');
    handleMessage({ type: 'error', id: g.id, where: 'answer', code: 'cancelled', message: 'cancelled' });
    expect(getState().runs[0].status).toBe('stopped');
    // A stopped run still says how long it ran (from the send to the stop).
    expect(getState().runs[0].totalMs).toBeGreaterThanOrEqual(0);
    expect(getState().errors.answer).toBeUndefined();
  });
  it('compare mode runs none, SparseVLM 64 and FastV 64 one after another', async () => {
    await readyWithImage();
    setCompareEnabled(true);
    ask();
    expect(posted.filter((m) => m.type === 'generate')).toHaveLength(1);
    finish(lastGenerate().id);
    finish(lastGenerate().id);
    finish(lastGenerate().id);
    const generates = posted.filter((m) => m.type === 'generate') as Extract<ToWorker, { type: 'generate' }>[];
    expect(generates.map((m) => m.settings)).toEqual([
      { method: 'none' },
      { method: 'sparsevlm', budget: 64 },
      { method: 'fastv', budget: 64 },
    ]);
    expect(getState().compare.runIds).toEqual(generates.map((m) => m.id));
  });
  it('an engine error on a run shows in the answer panel', async () => {
    await readyWithImage();
    ask();
    handleMessage({ type: 'error', id: lastGenerate().id, where: 'gpu', code: 'run-failed', message: 'device lost' });
    expect(getState().runs[0].status).toBe('error');
    expect(getState().errors.answer?.message).toBe('device lost');
  });
  it('sampling settings reach the engine as the CLI passes them, and key the run cache', async () => {
    await readyWithImage();
    setSampling({ temperature: 0.7, topP: 0.9, seed: 42 });
    ask();
    expect(lastGenerate().options).toEqual({ maxNewTokens: 32, temperature: 0.7, topP: 0.9, seed: 42 });
    finish(lastGenerate().id);
    setSampling({ seed: 43 });
    ask();
    expect(lastGenerate().options.seed).toBe(43); // another seed: not the cached answer
    setSampling({ temperature: -1, topP: 7 });
    expect(getState()).toMatchObject({ temperature: 0, topP: 1 });
  });
  it('a question asked while the model loads waits for it, then runs; a failed load ends it with why', async () => {
    startEngine(true);
    expect(await setImageFromBlob(samplePng(), 'shapes.png', accept)).toBe(true);
    setQuestion('What shapes?');
    ask();
    expect(getState().errors).toEqual({});
    expect(getState().runs[0].status).toBe('queued');
    expect(posted.some((m) => m.type === 'generate')).toBe(false);
    const load = posted.find((m) => m.type === 'load')!;
    handleMessage({ type: 'loaded', id: load.id, model });
    expect(getState().runs[0].status).toBe('running');
    expect(lastGenerate().question).toBe('What shapes?');
    finish(lastGenerate().id);
    loadFromUrl('/models/other/');
    const second = posted.at(-1) as Extract<ToWorker, { type: 'load' }>;
    expect(second.type).toBe('load');
    setQuestion('And now?');
    ask();
    expect(getState().runs[0]).toMatchObject({ status: 'queued', question: 'And now?' });
    handleMessage({
      type: 'error',
      id: second.id,
      where: 'model',
      code: 'sha256-mismatch',
      message: 'layers/00.onnx is damaged.',
      loaded: null,
    });
    expect(getState().runs[0]).toMatchObject({ status: 'error', error: { code: 'no-model' } });
  });
  it('a refused question does not stay on screen through the next run', async () => {
    await readyWithImage();
    ask();
    handleMessage({
      type: 'error',
      id: lastGenerate().id,
      where: 'input',
      code: 'question-too-long',
      message: 'The question is too long.',
    });
    expect(getState().errors.input?.code).toBe('question-too-long');
    setQuestion('Shorter?');
    ask();
    expect(getState().errors.input).toBeUndefined();
    finish(lastGenerate().id);
    expect(getState().errors).toEqual({});
  });
});

describe('GPU device loss', () => {
  it('keeps image, question, settings and runs; re-inits and reloads the last model; then answers again', async () => {
    await readyWithImage();
    setMethod('sparsevlm');
    setBudget(64);
    ask();
    finish(lastGenerate().id);
    ask();
    setMethod('none');
    ask(); // a second run, in flight
    const inFlight = lastGenerate();
    const before = posted.length;
    handleMessage({ type: 'device-lost', id: inFlight.id, reason: 'destroyed', message: 'Device was destroyed.' });
    handleMessage({
      type: 'error',
      id: inFlight.id,
      where: 'gpu',
      code: 'device-lost',
      message: 'Device was destroyed.',
    });
    const after = posted.slice(before);
    expect(after.map((m) => m.type)).toEqual(['init', 'load']); // once, though two messages said so
    expect(after[1]).toMatchObject({ source: { kind: 'url', url: '/models/synthetic-tiny/' } });
    const s = getState();
    expect(s.deviceLost).toMatchObject({ recovered: false, count: 1 });
    expect(s.status).toBe('loading');
    expect(s.image?.name).toBe('shapes.png');
    expect(s.question).toBe('What shapes?');
    expect(s.runs.map((r) => r.status)).toEqual(['error', 'done']);
    handleMessage({ type: 'loaded', id: after[1].id, model });
    expect(getState().deviceLost).toMatchObject({ recovered: true });
    ask();
    expect(lastGenerate().id).not.toBe(inFlight.id);
    expect(lastGenerate().settings).toEqual({ method: 'none' });
  });
});

describe('session restore', () => {
  it('takes saved settings that pass their checks and ignores the rest', () => {
    const patch = settingsPatch({
      question: 'Why?',
      method: 'fastv',
      budget: 96,
      theme: 'dark',
      endpoint: 'http://localhost:9999',
      compare: { enabled: true, settings: [{ method: 'none' }, { method: 'fastv', budget: 64 }] },
    });
    expect(patch).toMatchObject({
      question: 'Why?',
      method: 'fastv',
      budget: 96,
      theme: 'dark',
      endpoint: 'http://localhost:9999',
    });
    expect(patch.compare).toMatchObject({
      enabled: true,
      runIds: [],
      settings: [{ method: 'none' }, { method: 'fastv', budget: 64 }],
    });
    const bad = settingsPatch({
      method: 'nonsense',
      budget: 7,
      theme: 'neon' as 'dark',
      endpoint: 'javascript:alert(1)',
      compare: { enabled: true, settings: [] },
    });
    expect(bad).toEqual({});
  });
});

describe('GPU device loss with a restartable engine link', () => {
  it('replaces the worker, fails the run the old one will never finish, and reloads in the new one', async () => {
    let restarts = 0;
    const sent: ToWorker[] = [];
    connectEngine({
      post: (m) => {
        posted.push(m);
        sent.push(m);
      },
      subscribe: () => {},
      restart: () => {
        restarts++;
        sent.length = 0;
      },
    });
    try {
      await readyWithImage();
      ask();
      const g = lastGenerate();
      handleMessage({ type: 'device-lost', id: g.id, reason: 'destroyed', message: 'Device was destroyed.' });
      expect(restarts).toBe(1);
      expect(sent.map((m) => m.type)).toEqual(['init', 'load']); // posted to the new worker
      expect(getState().runs[0]).toMatchObject({ status: 'error', error: { code: 'device-lost' } });
      expect(getState().image?.name).toBe('shapes.png');
    } finally {
      connectEngine({ post: (m) => posted.push(m), subscribe: () => {} });
    }
  });
});
