/**
 * Issue 7 in the app (the pieces are tested alone in hub.spec.ts and persist.spec.ts): the model
 * panel converts a hub checkpoint served by the local fault server, shows the dtype and why,
 * progress and refusals with numbers, lists the cached package with its size, loads and deletes
 * it; runs are saved and survive a reload with the image, question and settings; a GPU device
 * loss is recovered from without losing anything. Screenshots in test-results/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { startFaultServer, type FaultServer } from '../src/convert/testing/faultServer';
import { expect, openHubSettings, test } from './fixtures/pages';

const REPO = 'test-org/qwen2-siglip';
const KEY = 'test-org--qwen2-siglip--q4';
const SAMPLE = join('public', 'samples', 'shapes.png');

async function snap(page: Page, info: TestInfo, name: string) {
  const path = join('test-results', 'screenshots', `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

let server: FaultServer;
test.beforeAll(async () => {
  server = await startFaultServer({ [REPO]: 'fixtures/qwen2-siglip' });
});
test.afterAll(async () => {
  await server.close();
});
test.beforeEach(() => {
  server.clearFaults();
  server.log.length = 0;
});

/** Each test has a fresh browser context: empty OPFS, IndexedDB and localStorage. */
async function open(page: Page) {
  await page.goto('/?e2e');
  await expect(page.getByTestId('model.adapter')).toBeVisible({ timeout: 120_000 });
}

/** The cached fixture is the loaded model (an engine error is reported with its message). */
async function expectLoaded(page: Page) {
  const status = page.getByTestId('model.status');
  await expect
    .poll(
      async () =>
        (await status.getAttribute('data-status')) === 'error'
          ? `error: ${await page.getByTestId('model.error').textContent()}`
          : await status.textContent(),
      { timeout: 120_000 },
    )
    .toContain(`Ready: ${REPO}`);
}

async function pointAtServer(page: Page) {
  await openHubSettings(page);
  await page.getByTestId('hub.endpoint').fill(server.endpoint);
}

test('convert a hub checkpoint in the page: dtype and why, progress, cached with its size, loaded, deleted', async ({
  page,
  api,
  consoleErrors,
}, info) => {
  consoleErrors.expect(/status of 500.*\/model\.safetensors/); // the one 500 injected below
  await open(page);
  await expect(page.getByTestId('model.hub')).toHaveCount(2);
  await expect(page.getByTestId('model.hub').first()).toHaveAttribute(
    'data-id',
    'llava-hf/llava-interleave-qwen-0.5b-hf',
  );
  await expect(page.getByTestId('model.hub').nth(1)).toHaveAttribute('data-id', 'llava-hf/llava-1.5-7b-hf');
  await expect(page.getByTestId('cache.empty')).toBeVisible();
  await pointAtServer(page);
  // Slow enough to watch the progress line; one 500 on the way that the download rides out.
  server.inject('model.safetensors', { kind: 'status', status: 500, times: 1 });
  server.inject('model.safetensors', { kind: 'slow', bytesPerSecond: 300_000, times: Infinity });
  await page.getByTestId('hub.id').fill(REPO);
  await page.getByTestId('hub.convert').click();
  // SwiftShader has no shader-f16: q4, and the panel says so.
  await expect(page.getByTestId('hub.dtype')).toContainText('q4');
  await expect(page.getByTestId('hub.dtype')).toContainText('lacks shader-f16');
  const progress = page.getByTestId('hub.progress');
  await expect(progress).toHaveAttribute('data-phase', 'download', { timeout: 30_000 });
  await expect(progress).toContainText(
    /Downloading model\.safetensors · [\d.]+ (KB|MB) of [\d.]+ (MB|KB) · [\d.]+ (KB|MB)\/s · .+ left/,
    { timeout: 15_000 },
  );
  await snap(page, info, '20-hub-downloading');
  const item = page.locator(`[data-testid="cache.item"][data-key="${KEY}"]`);
  await expect(item).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(item.getByTestId('cache.size')).toHaveText(/^[\d.]+ (KB|MB)$/);
  await expect(page.getByTestId('hub.job')).toHaveAttribute('data-status', 'done');
  expect(server.log.some((e) => e.status === 500)).toBe(true);
  // The converted package is what the engine now loads, from the cache.
  await expectLoaded(page);
  expect(await api.modelName()).toBeTruthy();
  // Releasing the old package may end onnxruntime's device: that is no GPU fault to report.
  await page.waitForTimeout(1000);
  await expect(page.getByTestId('app.device-lost')).toHaveCount(0);
  await snap(page, info, '21-hub-loaded');
  // Reload: the cache is still listed, and loads again without the network.
  await page.reload();
  await expect(item).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  server.log.length = 0;
  await item.getByTestId('cache.load').click();
  await expectLoaded(page);
  expect(server.log).toEqual([]);
  await item.getByTestId('cache.delete').click();
  await expect(page.getByTestId('cache.empty')).toBeVisible();
});

test('a model that will not fit is refused before downloading, with the numbers', async ({ page }, info) => {
  await open(page);
  await pointAtServer(page);
  await page.getByTestId('hub.gpu-memory').fill('1');
  await page.getByTestId('hub.id').fill(REPO);
  await page.getByTestId('hub.convert').click();
  const error = page.getByTestId('hub.error');
  await expect(error).toHaveAttribute('data-code', 'preflight-gpu-memory', { timeout: 60_000 });
  await expect(error).toContainText(
    /Refused before downloading: .* needs about [\d,]+ MB of GPU memory .* but the GPU has \d+ MB/,
  );
  await expect(page.getByTestId('hub.figure.gpuBytes')).toHaveText(/[\d.]+ MB/);
  await expect(page.getByTestId('hub.figure.gpuMemoryBytes')).toHaveText('1.05 MB');
  expect(server.log.filter((e) => e.method === 'GET' && e.file === 'model.safetensors')).toEqual([]);
  await expect(page.getByTestId('cache.empty')).toBeVisible();
  await snap(page, info, '22-hub-refused');
  // A hub id that is not one says so, in words.
  await page.getByTestId('hub.id').fill('not a hub id');
  await page.getByTestId('hub.convert').click();
  await expect(error).toHaveAttribute('data-code', 'bad-id');
});

test('runs are saved and a reload loses nothing: image, question, settings, past runs; export and delete', async ({
  page,
  model,
  input,
  method,
  answer,
}, info) => {
  await open(page);
  await model.waitReady();
  await page.getByTestId('method.max-tokens').selectOption('8');
  await method.choose('sparsevlm', 64);
  await input.upload(SAMPLE);
  await input.ask('What shapes are in the picture?');
  await answer.waitSettled();
  await expect(answer.status).toHaveAttribute('data-status', 'done');
  const text = await answer.text.textContent();
  await expect(page.getByTestId('history.item')).toHaveCount(1);
  await expect(page.getByTestId('history.item')).toHaveAttribute('data-label', 'SparseVLM 64');

  await page.reload();
  await model.waitReady();
  await expect(page.getByTestId('input.image')).toBeVisible();
  await expect(page.getByTestId('input.caption')).toContainText('shapes.png');
  await expect(page.getByTestId('input.question')).toHaveValue('What shapes are in the picture?');
  await expect(page.getByTestId('method.select')).toHaveValue('sparsevlm');
  await expect(page.getByTestId('method.max-tokens')).toHaveValue('8');
  const item = page.getByTestId('history.item');
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId('history.question')).toContainText('What shapes are in the picture?');
  await expect(item.locator('img')).toBeVisible(); // the thumbnail
  await item.getByTestId('history.show').click();
  await expect(answer.text).toHaveText(text!);
  await expect(page.getByTestId('explorer.count')).toHaveText('576');
  await snap(page, info, '23-history-after-reload');

  const download = page.waitForEvent('download');
  await page.getByTestId('history.export').click();
  const exported = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
  expect(exported).toMatchObject({
    format: 'sparsevlm-runs',
    runs: [{ question: 'What shapes are in the picture?', answer: text, label: 'SparseVLM 64' }],
  });
  expect(exported.runs[0].trace.stages.map((s: { layer: number }) => s.layer)).toEqual([2, 6, 15]);
  expect(exported.runs[0].thumbnail).toMatch(/^data:image\/jpeg;base64,/);
  await item.getByTestId('history.delete').click();
  await expect(page.getByTestId('history.empty')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('history.empty')).toBeVisible();
});

test('a GPU device loss during generation: banner, model reloaded, inputs and runs kept, next question answered', async ({
  page,
  model,
  input,
  method,
  answer,
  api,
}, info) => {
  await open(page);
  await model.waitReady();
  await page.getByTestId('method.max-tokens').selectOption('8');
  // SparseVLM 64: a pruned prefill is ~5× quicker than the unpruned one on SwiftShader.
  await method.choose('sparsevlm', 64);
  await input.upload(SAMPLE);
  await input.ask('What is in this picture?');
  await answer.waitSettled();
  await expect(page.getByTestId('history.item')).toHaveCount(1);

  await page.getByTestId('method.max-tokens').selectOption('16');
  await input.ask('Which colours do you see?');
  await expect.poll(async () => (await api.currentRun())?.status, { timeout: 60_000 }).toBe('running');
  await api.loseDevice();
  const banner = page.getByTestId('app.device-lost');
  await expect(banner).toBeVisible({ timeout: 30_000 });
  await snap(page, info, '24-device-lost');
  await expect(banner).toHaveAttribute('data-recovered', 'true', { timeout: 180_000 });
  await model.waitReady();
  await expect(page.getByTestId('input.image')).toBeVisible();
  await expect(page.getByTestId('input.question')).toHaveValue('Which colours do you see?');
  await expect(page.getByTestId('method.max-tokens')).toHaveValue('16');
  await expect(page.getByTestId('history.item')).toHaveCount(1);
  await snap(page, info, '25-device-recovered');

  await input.ask('How many shapes are there?');
  await answer.waitSettled();
  await expect(answer.status).toHaveAttribute('data-status', 'done');
  expect((await api.currentRun())!.tokenCount).toBeGreaterThan(0);
  await expect(page.getByTestId('history.item')).toHaveCount(2);
});
