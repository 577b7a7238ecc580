/**
 * The bench in headless Chromium: a Vite dev server over the project (its own vite.config.ts,
 * plus a middleware serving the model package at /bench-model/), the bench page
 * (bench/page/, the app's worker engine), Playwright driving `window.bench`. Same measuring
 * loop and result record as Node.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { cpus, platform, totalmem } from 'node:os';
import { join, normalize, resolve } from 'node:path';
import type { BenchOptions, MethodSpec } from './args';
import { measureMethods, type BenchTarget, type RunOutcome } from './measure';
import { ensureSyntheticPackage } from './models';
import { BENCH_QUESTION } from './nodeTarget';
import type { BenchResult } from './result';
import { MEMORY_NOTE } from './run';

/** Flags as in playwright.config.ts (ENVIRONMENT.md: these give WebGPU in headless Chromium here). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const PEER_GAP = 'the converter does not emit the transformers.js LLaVA ONNX layout (vision encoder, embed tokens, merged decoder with its own KV naming) yet, so there is no package for @huggingface/transformers\' LLaVA pipeline to run';

export async function runBrowserBench(o: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const model = o.model ? { dir: resolve(o.model), generated: false, generateMs: 0 } : await ensureSyntheticPackage(o.shape, o.dtype, o.cacheDir, log);
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const server = await createServer({
    configFile: resolve('vite.config.ts'),
    logLevel: 'warn',
    server: { port: 0, strictPort: false },
    plugins: [{
      name: 'bench-model',
      configureServer(s) {
        s.middlewares.use('/bench-model', (req, res, next) => {
          const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
          const file = join(model.dir, rel);
          if (!file.startsWith(model.dir) || !existsSync(file) || !statSync(file).isFile()) { next(); return; }
          res.setHeader('content-length', String(statSync(file).size));
          createReadStream(file).pipe(res);
        });
      },
    }],
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? 'http://localhost:5173';
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') log(`page: ${m.text()}`); });
    await page.goto(`${base}/bench/page/index.html`);
    await page.waitForFunction(() => 'bench' in window, undefined, { timeout: 120_000 });
    type Api = import('./page/main').BenchPageApi;
    const adapter = await page.evaluate(() => (window as unknown as { bench: Api }).bench.init());
    const { model: info, loadMs } = await page.evaluate((url) => (window as unknown as { bench: Api }).bench.load(url), `${base}/bench-model/`);
    log(`loaded ${info.name} in ${(loadMs / 1000).toFixed(1)} s on ${adapter.backend} (${adapter.architecture})`);
    const target: BenchTarget = {
      generate: (spec: MethodSpec, newTokens: number): Promise<RunOutcome> => page.evaluate(
        ([settings, question, n]) => (window as unknown as { bench: Api }).bench.generate(settings, question, n),
        [spec.settings, BENCH_QUESTION, newTokens] as const,
      ),
    };
    const { rows: methods, failures } = await measureMethods(target, o.methods, { runs: o.runs, warmup: o.warmup, newTokens: o.newTokens, onProgress: log, ...(o.deadlineS ? { deadlineMs: o.deadlineS * 1000 } : {}) });
    return {
      schema: 1,
      date: new Date().toISOString(),
      where: 'browser',
      shape: o.shape,
      dtype: o.dtype,
      options: { runs: Math.min(...methods.map((m) => m.figures.ttftMs?.n ?? o.runs)), warmup: o.warmup, newTokens: o.newTokens, question: BENCH_QUESTION, image: 'shapes.png' },
      environment: {
        adapter,
        runtime: { chromium: browser.version(), node: process.versions.node },
        host: { platform: platform(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
        ...(o.machine ? { machine: o.machine } : {}),
      },
      model: { ...info, loadMs, generatedMs: model.generateMs, layout: methods[0].layout },
      memoryNote: MEMORY_NOTE,
      methods,
      failures,
      merged: { notMeasured: 'the merged-decoder comparison runs in the Node path only (bench/merged.ts)' },
      peer: { notMeasured: PEER_GAP },
      native: { notMeasured: 'the native reference runs only on the GPU machine (bench/gpu/run.sh)' },
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
