/**
 * The bench in headless Chromium: the bench pages built by Vite as the app ships (serve.ts),
 * a static server for them, the model package (/bench-model/), the transformers.js layout of
 * the same weights (/peer-models/) and the image (/bench-image/); Playwright drives
 * `window.bench` (the app's worker engine, bench/page/main.ts) and then `window.peer`
 * (@huggingface/transformers' LLaVA pipeline, bench/page/peer.ts). Same measuring loop and
 * result record as Node; the split cost runs in the page too (bench/page/split.ts).
 */
import { cpus, platform, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import type { BenchOptions, MethodSpec } from './args';
import { measureMethods, type BenchTarget, type MethodResult, type RunOutcome } from './measure';
import { ensureSyntheticPackage, ensureTransformersJsPackage } from './models';
import { BENCH_QUESTION } from './nodeTarget';
import type { BenchResult, MergedComparison, NotMeasured } from './result';
import { MEMORY_NOTE, benchImagePath } from './run';
import { buildBenchPages, serveFolders } from './serve';
import { spread } from './stats';

/** Flags as in playwright.config.ts (ENVIRONMENT.md: these give WebGPU in headless Chromium here). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type BenchApi = import('./page/main').BenchPageApi;
type PeerApi = import('./page/peer').PeerPageApi;

export interface PeerResult {
  pipeline: string;
  device: 'webgpu' | 'wasm';
  dtype: string;
  loadMs: number;
  promptTokens: number;
  runs: number;
  ttftMs: ReturnType<typeof spread>;
  decodeTokPerS: ReturnType<typeof spread>;
  /** Ours (`none`, same run) against the peer: peer TTFT / ours, ours tokens/s / peer's (> 1: ours is faster). */
  speedup: { ttft: number; decode: number };
  ours: { ttftMs: number; decodeTokPerS: number; promptTokens: number };
  generatedIds: number[];
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

async function openPage(
  browser: import('@playwright/test').Browser,
  url: string,
  global: string,
  log: (l: string) => void,
): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || process.env.BENCH_DEBUG || m.text().startsWith('split:')) log(`page: ${m.text()}`);
  });
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) log(`page: ${r.status()} ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForFunction((g) => g in window, global, { timeout: 120_000 });
  return page;
}

async function measurePeer(
  browser: import('@playwright/test').Browser,
  base: string,
  o: BenchOptions,
  backend: 'webgpu' | 'wasm',
  none: MethodResult,
  log: (l: string) => void,
): Promise<PeerResult> {
  const page = await openPage(browser, `${base}/bench/page/peer.html`, 'peer', log);
  try {
    const loaded = await page.evaluate(([d, t]) => (window as unknown as { peer: PeerApi }).peer.load(d, t), [
      backend,
      o.dtype,
    ] as const);
    log(
      `peer loaded in ${(loaded.loadMs / 1000).toFixed(1)} s (${backend}, cross-origin isolated ${loaded.crossOriginIsolated})`,
    );
    const gen = () =>
      page.evaluate(([q, n]) => (window as unknown as { peer: PeerApi }).peer.generate(q, n), [
        BENCH_QUESTION,
        o.newTokens,
      ] as const);
    for (let w = 0; w < o.warmup; w++) await gen();
    const runs = [];
    for (let r = 0; r < Math.min(o.runs, 3); r++) {
      runs.push(await gen());
      log(`peer run ${r + 1}: ttft ${runs[r].ttftMs.toFixed(1)} ms, ${runs[r].decodeStepMs.length} decode steps`);
    }
    const ttft = spread(runs.map((r) => r.ttftMs));
    const tps = spread(runs.map((r) => (r.decodeStepMs.length / r.decodeStepMs.reduce((s, v) => s + v, 0)) * 1000));
    const ours = {
      ttftMs: none.figures.ttftMs!.median,
      decodeTokPerS: none.figures.decodeTokPerS!.median,
      promptTokens: none.layout.preLength + none.layout.visualCount + none.layout.textLength,
    };
    return {
      pipeline:
        '@huggingface/transformers LlavaForConditionalGeneration.generate (AutoProcessor → LlavaProcessor), greedy, min = max new tokens',
      device: backend,
      dtype: o.dtype,
      loadMs: loaded.loadMs,
      promptTokens: runs[0].promptTokens,
      runs: runs.length,
      ttftMs: ttft,
      decodeTokPerS: tps,
      speedup: { ttft: ttft.median / ours.ttftMs, decode: ours.decodeTokPerS / tps.median },
      ours,
      generatedIds: runs[runs.length - 1].generatedIds,
    };
  } finally {
    await page.close();
  }
}

/**
 * SwiftShader's WebGPU runs the small shape's unpruned request (576 visual tokens, 8 layers,
 * 64 tokens) in ≈ 47 s to the first token and 0.37 tokens/s after it on this 2-core machine
 * (bench/results/2026-11-24-browser-small-swiftshader-probe.json: one `none` run, 4 tokens), ≈ 3.5 min a request, so seven methods with
 * warm-up cannot finish in 10 minutes. Without --backend, a software adapter therefore gives
 * ORT's wasm backend (CPU, and the CPU prune backend); a hardware adapter gives WebGPU.
 */
async function chooseBackend(page: Page, o: BenchOptions): Promise<{ backend: 'webgpu' | 'wasm'; why: string }> {
  if (o.backendExplicit) return { backend: o.backend, why: `--backend ${o.backend}` };
  const a = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    const ad = gpu ? await gpu.requestAdapter() : null;
    if (!ad) return null;
    const info = (ad as GPUAdapter & { info?: GPUAdapterInfo }).info;
    return {
      text: `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.description ?? ''}`.trim(),
      fallback: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
    };
  });
  if (!a) return { backend: 'wasm', why: 'no WebGPU adapter in this Chromium' };
  if (a.fallback || /swiftshader|llvmpipe|lavapipe/i.test(a.text)) {
    return {
      backend: 'wasm',
      why: `the WebGPU adapter is software (${a.text}): on it one unpruned small request takes minutes, so ORT's wasm backend on the CPU (pass --backend webgpu to force WebGPU)`,
    };
  }
  return { backend: 'webgpu', why: `hardware WebGPU adapter (${a.text})` };
}

export async function runBrowserBench(o: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const model = o.model
    ? { dir: resolve(o.model), generated: false, generateMs: 0 }
    : await ensureSyntheticPackage(o.shape, o.dtype, o.cacheDir, log, !o.noMerged);
  if (model.generated) log(`generated ${model.dir} in ${(model.generateMs / 1000).toFixed(1)} s`);
  const peerPkg = o.model || o.noPeer ? null : await ensureTransformersJsPackage(o.shape, o.dtype, o.cacheDir, log);
  const webDir = resolve(o.cacheDir, 'web');
  const tb = performance.now();
  await buildBenchPages(webDir);
  log(`built the bench pages in ${((performance.now() - tb) / 1000).toFixed(1)} s`);
  const server = await serveFolders({
    '/bench-model/': model.dir,
    '/bench-image/': dirname(benchImagePath()),
    ...(peerPkg ? { '/peer-models/': peerPkg.dir } : {}),
    '/': webDir,
  });
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await openPage(browser, `${server.base}/bench/page/index.html`, 'bench', log);
    const { backend, why } = await chooseBackend(page, o);
    log(`backend ${backend}: ${why}`);
    const adapter = await page.evaluate((b) => (window as unknown as { bench: BenchApi }).bench.init(b), backend);
    const { model: info, loadMs } = await page.evaluate(
      (url) => (window as unknown as { bench: BenchApi }).bench.load(url),
      `${server.base}/bench-model/`,
    );
    log(
      `loaded ${info.name} in ${(loadMs / 1000).toFixed(1)} s on ${adapter.backend} (${adapter.architecture} ${adapter.description}), cross-origin isolated ${adapter.crossOriginIsolated}`,
    );
    const target: BenchTarget = {
      // On wasm the worker's counter sees no GPU buffers (0): not a measurement, so null.
      generate: async (spec: MethodSpec, newTokens: number): Promise<RunOutcome> => {
        const r = await page.evaluate(
          ([settings, question, n]) => (window as unknown as { bench: BenchApi }).bench.generate(settings, question, n),
          [spec.settings, BENCH_QUESTION, newTokens] as const,
        );
        return adapter.backend === 'webgpu' ? r : { ...r, peakGpuBytes: null };
      },
    };
    const { rows: methods, failures } = await measureMethods(target, o.methods, {
      runs: o.runs,
      warmup: o.warmup,
      newTokens: o.newTokens,
      onProgress: log,
      ...(o.deadlineS ? { deadlineMs: o.deadlineS * 1000 } : {}),
    });
    const layout = methods[0].layout;
    const merged: MergedComparison | NotMeasured = o.noMerged
      ? { notMeasured: 'skipped (--no-merged)' }
      : await page
          .evaluate((q) => (window as unknown as { bench: BenchApi }).bench.split(q), {
            url: `${server.base}/bench-model/`,
            backend: adapter.backend,
            runs: Math.max(1, Math.min(o.runs, 3)),
            newTokens: o.newTokens,
            seqLen: layout.preLength + layout.visualCount + layout.textLength,
          })
          .catch((e: unknown) => ({ notMeasured: `the merged-decoder comparison failed: ${message(e)}` }));
    await page.close();
    const peer: PeerResult | NotMeasured = !peerPkg
      ? {
          notMeasured: o.noPeer
            ? 'skipped (--no-peer)'
            : 'no transformers.js layout for a package given with --model (convert it with --layout transformers.js)',
        }
      : await measurePeer(browser, server.base, o, adapter.backend, methods[0], log).catch((e: unknown) => ({
          notMeasured: `@huggingface/transformers' LLaVA pipeline failed on the converter's transformers.js layout: ${message(e)}`,
        }));
    const { crossOriginIsolated, ...adapterInfo } = adapter;
    return {
      schema: 1,
      date: new Date().toISOString(),
      where: 'browser',
      shape: o.shape,
      dtype: o.dtype,
      options: {
        runs: Math.min(...methods.map((m) => m.figures.ttftMs?.n ?? o.runs)),
        warmup: o.warmup,
        newTokens: o.newTokens,
        question: BENCH_QUESTION,
        image: 'shapes.png',
      },
      environment: {
        adapter: adapterInfo,
        runtime: {
          backendChoice: why,
          chromium: browser.version(),
          node: process.versions.node,
          crossOriginIsolated: String(crossOriginIsolated),
          pages: 'vite build (bench/serve.ts)',
        },
        host: { platform: platform(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
        ...(o.machine ? { machine: o.machine } : {}),
      },
      model: { ...info, loadMs, generatedMs: model.generateMs, layout },
      memoryNote: adapter.backend === 'webgpu' ? MEMORY_NOTE : 'not counted: no WebGPU in this run (wasm backend)',
      methods,
      failures,
      merged,
      peer: peer as unknown as Record<string, unknown> | NotMeasured,
      native: { notMeasured: 'the native reference runs only on the GPU machine (bench/gpu/run.sh)' },
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
