/**
 * Issue 7, in the browser: a hub checkpoint (the Qwen2 + SigLIP fixture behind a local
 * hub-layout server that injects faults) converted by the real worker into the OPFS store.
 * Every path ends in a package identical to the CLI's, file by file, or in a clear error with
 * nothing loadable left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures/console';
import { startFaultServer, type FaultServer } from '../src/convert/testing/faultServer';
import type { ConvertRequest } from '../src/convert/browser/convertProtocol';

const REPO = 'test-org/qwen2-siglip';
const KEY = 'test-org--qwen2-siglip--q4';
const WEIGHTS = 'model.safetensors';
const WEIGHTS_SIZE = readFileSync('fixtures/qwen2-siglip/model.safetensors').byteLength;

type HubTest = Window & {
  hubTest: {
    convert(
      r: ConvertRequest,
    ): Promise<
      { ok: true; result: { files: { path: string; sha256: string }[] } } | { ok: false; error: Record<string, any> }
    >;
    start(r: ConvertRequest): void;
    progress: {
      phase: string;
      file?: string;
      bytesDone: number;
      bytesTotal: number;
      retrying?: string;
      rate: number | null;
    }[];
    list(): Promise<{ key: string; state: string; bytes: number; files: number; sourceId?: string }[]>;
    remove(key: string): Promise<void>;
    files(key: string): Promise<{ path: string; bytes: number; sha256: string }[]>;
    readManifest(key: string): Promise<string>;
    tree(): Promise<string[]>;
    clearAll(): Promise<void>;
    chooseDtype(): Promise<{ dtype: string; reason: string }>;
  };
};

let server: FaultServer;
let cliDir: string;
let cliManifest: { files: { path: string; bytes: number; sha256: string }[]; source: { id: string } };

test.beforeAll(async () => {
  server = await startFaultServer({ [REPO]: 'fixtures/qwen2-siglip' });
  cliDir = mkdtempSync(join(tmpdir(), 'hub-e2e-cli-'));
  execFileSync(
    'npx',
    ['tsx', 'src/cli/convert.ts', 'fixtures/qwen2-siglip', '--out', join(cliDir, 'pkg'), '--dtype', 'q4'],
    { stdio: 'pipe' },
  );
  cliManifest = JSON.parse(readFileSync(join(cliDir, 'pkg', 'manifest.json'), 'utf8'));
});
test.afterAll(async () => {
  await server.close();
  rmSync(cliDir, { recursive: true, force: true });
});

test.beforeEach(async ({ page }) => {
  server.clearFaults();
  server.log.length = 0;
  await page.goto('/e2e/pages/hub.html');
  await page.waitForSelector('body[data-ready="1"]');
  await page.evaluate(() => (window as unknown as HubTest).hubTest.clearAll());
});

const request = (): ConvertRequest => ({
  id: REPO,
  endpoint: server.endpoint,
  dtype: 'q4',
  key: KEY,
  adapter: null,
  retry: { attempts: 4, baseDelayMs: 50, maxDelayMs: 200 },
  chunkBytes: 256 * 1024,
});
const convert = (page: Page, r = request()) =>
  page.evaluate((req) => (window as unknown as HubTest).hubTest.convert(req), r);
const hub = <T>(page: Page, fn: (h: HubTest['hubTest']) => Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.hubTest)`) as Promise<T>;

/** The cached package equals the CLI's: every file's bytes and sha256 (recomputed from OPFS), manifest but for source.id. */
async function expectSameAsCli(page: Page) {
  const files = await hub(page, (h) => h.files('test-org--qwen2-siglip--q4'));
  const stored = files.filter((f) => f.path !== 'manifest.json' && f.path !== '.committed');
  expect(stored).toEqual(cliManifest.files.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 })));
  const manifest = JSON.parse(await hub(page, (h) => h.readManifest('test-org--qwen2-siglip--q4')));
  expect(manifest.source.id).toBe(REPO);
  expect({ ...manifest, source: { ...manifest.source, id: cliManifest.source.id } }).toEqual(cliManifest);
  const list = await hub(page, (h) => h.list());
  expect(list).toEqual([expect.objectContaining({ key: KEY, state: 'ready', sourceId: REPO })]);
}

/** After a failure: no loadable package, no package folder at all. */
async function expectNothingLoadable(page: Page) {
  expect((await hub(page, (h) => h.list())).filter((p) => p.state === 'ready')).toEqual([]);
  expect((await hub(page, (h) => h.tree())).filter((p) => p.startsWith('packages/') && p !== 'packages/')).toEqual([]);
}

/** The error record of a failed conversion (fails the test when it succeeded). */
function errorOf(out: Awaited<ReturnType<typeof convert>>): Record<string, any> {
  if (out.ok) throw new Error('the conversion succeeded where it should have failed');
  return out.error;
}

const weightGets = () => server.log.filter((e) => e.method === 'GET' && e.file === WEIGHTS);

test('the in-browser conversion gives the CLI package, file for file; it is listed, readable and deletable', async ({
  page,
}) => {
  const adapter = await page.evaluate(async () => (await navigator.gpu?.requestAdapter())?.info.architecture ?? 'none');
  expect(adapter).toBe('swiftshader');
  const choice = await hub(page, (h) => h.chooseDtype());
  expect(choice).toEqual({ dtype: 'q4', reason: expect.stringMatching(/lacks shader-f16/) }); // SwiftShader has no f16

  const out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  await expectSameAsCli(page);
  // Range requests of 256 KiB, every one answered 206, and the download folder removed afterwards.
  expect(weightGets().map((g) => g.status)).toEqual(Array(Math.ceil(WEIGHTS_SIZE / 262144)).fill(206));
  expect((await hub(page, (h) => h.tree())).filter((p) => p.startsWith('downloads/') && p !== 'downloads/')).toEqual(
    [],
  );
  const progress = await page.evaluate(() => (window as unknown as HubTest).hubTest.progress);
  const last = progress.filter((p) => p.phase === 'download').pop()!;
  expect(last.bytesDone).toBe(last.bytesTotal);
  expect(progress.map((p) => p.phase)).toEqual(
    expect.arrayContaining(['listing', 'preflight', 'download', 'convert', 'done']),
  );

  await hub(page, (h) => h.remove('test-org--qwen2-siglip--q4'));
  await expectNothingLoadable(page);
});

test('a connection dropped mid-file is resumed from the byte it reached', async ({ page }) => {
  server.inject(WEIGHTS, { kind: 'drop', afterBytes: 100_000 });
  const out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  const gets = weightGets();
  expect(gets[0]).toMatchObject({ range: 'bytes=0-262143', fault: 'drop', sent: 100_000 });
  // The retry starts at the bytes Chromium delivered before the error (it may hold back the
  // last buffer of a failed response, so anything from 0 to 100,000), then chunks go on from there.
  const resumedAt = Number(/^bytes=(\d+)-/.exec(gets[1].range ?? '')![1]);
  expect(resumedAt).toBeLessThanOrEqual(100_000);
  expect(gets[1], JSON.stringify(gets)).toMatchObject({
    range: `bytes=${resumedAt}-${resumedAt + 262143}`,
    status: 206,
    fault: null,
  });
  await expectSameAsCli(page);
});

test('HTTP 500s (on a listing HEAD and on the weights) are retried until the server recovers', async ({ page }) => {
  server.inject('config.json', { kind: 'status', status: 500, method: 'HEAD' });
  server.inject(WEIGHTS, { kind: 'status', status: 500, times: 2 });
  const out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  expect(
    weightGets()
      .slice(0, 3)
      .map((g) => [g.range, g.status]),
  ).toEqual([
    ['bytes=0-262143', 500],
    ['bytes=0-262143', 500],
    ['bytes=0-262143', 206],
  ]);
  await expectSameAsCli(page);
});

test('wrong lengths: a short body once is recovered; always short, a lying size or corrupt bytes end in a clear error', async ({
  page,
}) => {
  server.inject(WEIGHTS, { kind: 'short', missingBytes: 5000 });
  let out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  await expectSameAsCli(page);
  await hub(page, (h) => h.clearAll());

  server.inject(WEIGHTS, { kind: 'short', missingBytes: 5000, times: Infinity });
  out = await convert(page);
  expect(out.ok).toBe(false);
  expect(errorOf(out).message).toMatch(
    /model\.safetensors: gave up after 4 attempts at byte [\d,]+ of [\d,]+: a response said 5,000 bytes and carried 0 \(start again to resume\)/,
  );
  await expectNothingLoadable(page);
  server.clearFaults();
  await hub(page, (h) => h.clearAll());

  server.inject(WEIGHTS, { kind: 'headSize', delta: 4096 });
  out = await convert(page);
  expect(out.ok).toBe(false);
  expect(errorOf(out)).toMatchObject({
    code: 'size-mismatch',
    message: expect.stringMatching(/^model\.safetensors: the hub listed [\d,]+ bytes but serves [\d,]+/),
  });
  await expectNothingLoadable(page);
  await hub(page, (h) => h.clearAll());

  server.inject(WEIGHTS, { kind: 'corrupt', at: 300_000 });
  out = await convert(page);
  expect(out.ok).toBe(false);
  expect(errorOf(out).message).toMatch(
    /^model\.safetensors: sha256 [0-9a-f]{64} does not match the hub's [0-9a-f]{64}; the file was discarded/,
  );
  await expectNothingLoadable(page);
  // The discarded file is fetched anew on the next attempt and the package comes out right.
  out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  await expectSameAsCli(page);
});

test('a page reload mid-download continues from the bytes on disk', async ({ page }) => {
  server.inject(WEIGHTS, { kind: 'slow', bytesPerSecond: 150_000, times: Infinity });
  await page.evaluate((r) => (window as unknown as HubTest).hubTest.start(r), request());
  // bytesDone counts the files before this one too; the file's first event is at its byte 0.
  const weightBytes = async () => {
    const events = (await page.evaluate(() => (window as unknown as HubTest).hubTest.progress)).filter(
      (e) => e.file === 'model.safetensors',
    );
    return events.length === 0 ? 0 : events[events.length - 1].bytesDone - events[0].bytesDone;
  };
  await expect.poll(weightBytes, { timeout: 60_000 }).toBeGreaterThan(400_000);
  const reported = await weightBytes();
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  server.clearFaults();
  const before = weightGets().length;
  const out = await convert(page);
  expect(out.ok, JSON.stringify(out)).toBe(true);
  const resumed = weightGets().slice(before);
  const start = Number(/^bytes=(\d+)-/.exec(resumed[0].range ?? '')![1]);
  // Not from zero: the worker flushes at least once a second (opfs.ts), and 400 KB at 150 KB/s took
  // over 2.5 s, so at least 150 KB were durable. Bytes written after the last flush may be lost with
  // the reload, so the resume may start below the `reported` figure (CI once saw 389,644).
  console.log(`resumed at byte ${start} of the ${reported} reported before the reload`);
  expect(start).toBeGreaterThanOrEqual(150_000);
  expect(reported).toBeGreaterThan(400_000);
  expect(resumed.every((g) => g.status === 206)).toBe(true);
  const firstDownload = (await page.evaluate(() => (window as unknown as HubTest).hubTest.progress)).find(
    (p) => p.phase === 'download' && p.file === 'model.safetensors',
  )!;
  expect(firstDownload.bytesDone).toBeGreaterThan(0);
  await expectSameAsCli(page);
});

test('a storage quota smaller than download + package is refused before any weights are fetched, with the numbers', async ({
  page,
}) => {
  // Chromium enforces a CDP quota override on writes but does not report it through
  // navigator.storage.estimate() (checked: estimate() still says 4 GiB), so the preflight gets
  // the same figures the browser enforces, with the real usage.
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(page.url()).origin;
  const quota = 600_000;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: quota });
  try {
    const usage = (await page.evaluate(() => navigator.storage.estimate())).usage ?? 0;
    const out = await convert(page, { ...request(), storage: { quota, usage } });
    expect(out.ok).toBe(false);
    const error = errorOf(out);
    expect(error.reason, JSON.stringify(error)).toBe('storage-quota');
    expect(error.figures.quotaBytes).toBe(quota);
    expect(error.figures.downloadBytes).toBeGreaterThan(WEIGHTS_SIZE);
    expect(error.figures.needBytes).toBe(error.figures.downloadBytes + error.figures.packageBytes);
    expect(error.figures.needBytes).toBeGreaterThan(error.figures.freeBytes);
    expect(error.message).toMatch(
      /^test-org\/qwen2-siglip: needs [\d,]+ MB of browser storage \(download [\d,]+ MB \+ package [\d,]+ MB\) but only [\d,]+ MB is free \(quota 1 MB, used [\d,]+ MB\)$/,
    );
    expect(weightGets()).toEqual([]);
    await expectNothingLoadable(page);

    // Without the preflight, the browser's own refusal to write is a clear storage error, not a retry loop.
    const forced = await convert(page, { ...request(), storage: null });
    expect(forced.ok).toBe(false);
    expect(errorOf(forced)).toMatchObject({
      code: 'output',
      message: expect.stringMatching(
        /^model\.safetensors: (cannot write at byte [\d,]+ \(QuotaExceededError|the browser's storage kept [\d,]+ of the [\d,]+ bytes written \(storage full or over quota\))/,
      ),
    });
    await expectNothingLoadable(page);
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  }
});
