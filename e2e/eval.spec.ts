/**
 * Issue 16, the app side: the Evaluate panel runs a generated POPE folder (the benchmark's own
 * layout: coco_pope_random.json + val2014/ images, with a missing image and a cut-off line) end
 * to end on the bundled synthetic model, shows progress, scores, skip reasons and the chart,
 * keeps the evaluation in IndexedDB across a reload, and exports it.
 *
 * The page runs the engine on wasm (navigator.gpu hidden before the app starts, as in a browser
 * without WebGPU): on SwiftShader one unpruned 576-token prefill of the 32-layer model takes over
 * a minute (app.spec.ts), on wasm about a second, and the panel's path is the same either way.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { expect, test } from './fixtures/console';
import { popeFigures } from '../src/eval/formats/pope';
import { writePope } from '../src/eval/testing/datasets';
import type { EvalResults, EvalSpeed } from '../src/eval/summary';
import { panels } from './fixtures/pages';

const DATA = join('test-results', 'eval-data', 'pope-mini');

async function snap(page: Page, info: TestInfo, name: string, target = page.getByTestId('eval.panel')) {
  const path = join('test-results', 'screenshots', `${name}.png`);
  await target.screenshot({ path });
  await info.attach(name, { path, contentType: 'image/png' });
}

test.beforeAll(() => {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  writePope(DATA, { splits: ['random'], perSplit: 2 }); // 2 answerable, 1 missing image, 1 cut-off line
});

test('Evaluate runs a POPE folder: progress, scores, skip reasons, chart; kept across a reload; exported', async ({
  page,
}, info) => {
  test.setTimeout(300_000);
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/?e2e');
  await panels(page).model.waitReady();
  const panel = page.getByTestId('eval.panel');
  await panel.scrollIntoViewIfNeeded();
  await expect(page.getByTestId('eval.status')).toHaveAttribute('data-status', 'idle');

  await page.getByTestId('eval.folder-input').setInputFiles(DATA);
  await expect(page.getByTestId('eval.folder')).toHaveAttribute('data-items', '4');
  await expect(page.getByTestId('eval.suffix')).toHaveValue('Answer the question using a single word or phrase.');
  await page.getByTestId('eval.methods').fill('none,sparsevlm:64');
  await page.getByTestId('eval.max-tokens').fill('4');
  await page.getByTestId('eval.start').click();

  await expect(page.getByTestId('eval.progress')).toBeVisible();
  await expect(page.getByTestId('eval.status')).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  await expect(page.getByTestId('eval.progress')).toHaveAttribute('data-done', '8');
  await expect(page.getByTestId('eval.progress')).toHaveAttribute('data-total', '8');

  // Two methods, each 2 scored and 2 skipped, the reasons listed.
  const rows = page.getByTestId('eval.row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-method', 'none');
  await expect(rows.nth(1)).toHaveAttribute('data-method', 'sparsevlm:64');
  for (const i of [0, 1]) await expect(rows.nth(i).getByTestId('eval.counts')).toHaveText('2 / 2');
  await page.getByTestId('eval.skipped').locator('summary').click();
  await expect(page.getByTestId('eval.skipped')).toContainText('image COCO_val2014_000000000999.jpg not found');
  await expect(page.getByTestId('eval.skipped')).toContainText('line 4 is not JSON');

  // The chart: one point per method in each panel, sparsevlm:64 left of none on the FLOPs axis.
  for (const chart of ['eval.chart-prefill', 'eval.chart-flops'])
    await expect(page.getByTestId(chart).getByTestId('eval.point')).toHaveCount(2);
  const flopsX = async (method: string) =>
    Number(await page.getByTestId('eval.chart-flops').locator(`[data-method="${method}"] circle`).getAttribute('cx'));
  expect(await flopsX('sparsevlm:64')).toBeLessThan(await flopsX('none'));
  await snap(page, info, 'eval-01-pope-done');
  await snap(page, info, 'eval-02-chart', page.getByTestId('eval.chart'));

  // Export: the JSON holds per-item records; the score shown is POPE's F1 of those records.
  const download = page.waitForEvent('download');
  await page.getByTestId('eval.export-json').click();
  const file = await (await download).path();
  const { results, speed } = JSON.parse(readFileSync(file, 'utf8')) as { results: EvalResults; speed: EvalSpeed };
  expect(results.methods.map((m) => m.method)).toEqual(['none', 'sparsevlm:64']);
  for (const [i, m] of results.methods.entries()) {
    expect(m.records).toHaveLength(4);
    const scored = m.records.filter((r) => !r.skipped);
    for (const r of scored) expect(typeof r.answer).toBe('string');
    const f1 = popeFigures(scored.map((r) => ({ prediction: r.prediction!, label: String(r.label) }))).f1;
    expect(m.scores.headline).toBeCloseTo(f1, 10);
    await expect(rows.nth(i).getByTestId('eval.score')).toHaveText(f1.toFixed(2));
  }
  expect(results.methods[1].cost.visualTokensLast).toBeLessThan(64);
  expect(speed.methods.every((m) => m.requests === 2 && m.prefillMs! > 0)).toBe(true);

  // IndexedDB: after a reload the evaluation is listed and opens with the same table.
  await page.reload();
  await panels(page).model.waitReady();
  const saved = page.getByTestId('eval.saved-item');
  await expect(saved).toHaveCount(1);
  await expect(saved).toHaveAttribute('data-status', 'done');
  await saved.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByTestId('eval.row')).toHaveCount(2);
  await expect(page.getByTestId('eval.row').nth(1).getByTestId('eval.score')).toHaveText(
    results.methods[1].scores.headline.toFixed(2),
  );

  // Interrupted: the same evaluation again, the page reloaded part-way (the tab closed on it),
  // the folder picked again: it continues from IndexedDB and ends with the same results.
  const setUp = async () => {
    await page.getByTestId('eval.folder-input').setInputFiles(DATA);
    await expect(page.getByTestId('eval.folder')).toHaveAttribute('data-items', '4');
    await page.getByTestId('eval.methods').fill('none,sparsevlm:64');
    await page.getByTestId('eval.max-tokens').fill('4');
    await page.getByTestId('eval.start').click();
  };
  await setUp();
  // Reload after the first answer: the 4 answered requests come first and take ~1 s each (the 4
  // skips after them are instant), so the reload lands with answers still to ask.
  await expect
    .poll(async () => Number(await page.getByTestId('eval.progress').getAttribute('data-done')), {
      timeout: 120_000,
      intervals: [50],
    })
    .toBeGreaterThanOrEqual(1);
  await page.reload();
  await panels(page).model.waitReady();
  await expect(page.getByTestId('eval.saved-item')).toHaveCount(2);
  await expect(page.getByTestId('eval.saved-item').first()).toHaveAttribute('data-status', 'unfinished');
  await setUp();
  await expect(page.getByTestId('eval.status')).toHaveAttribute('data-status', 'done', { timeout: 240_000 });
  const kept = Number(await page.getByTestId('eval.progress').getAttribute('data-resumed'));
  expect(kept).toBeGreaterThanOrEqual(1);
  expect(kept).toBeLessThan(8);
  await expect(page.getByTestId('eval.saved-item').first()).toHaveAttribute('data-status', 'done');
  const again = page.waitForEvent('download');
  await page.getByTestId('eval.export-json').click();
  const resumed = JSON.parse(readFileSync(await (await again).path(), 'utf8')) as { results: EvalResults };
  expect(resumed.results).toEqual(results);
  await snap(page, info, 'eval-03-resumed');

  // Deleting a saved evaluation removes it (and its records) from IndexedDB.
  await page.getByTestId('eval.saved-item').nth(1).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('eval.saved-item')).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId('eval.saved-item')).toHaveCount(1);
});
