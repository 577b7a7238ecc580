/**
 * Issue 15, follow-up questions as a person meets them: ask about the picture, follow up under
 * the answer, see the conversation as two turns (the follow-up prefilled only its new tokens on
 * the caches the engine kept, SparseVLM's pruned ones as they were), Stop a follow-up mid-answer
 * (the box is there again, the stopped answer stays), then reload: the conversation is back as
 * turns, and a follow-up after the reload runs on it (the engine prefills the whole conversation
 * once: its caches went with the old worker).
 *
 * The bundled synthetic model on SwiftShader WebGPU (~1 s a decode step: slow enough to press
 * Stop mid-answer). Screenshots in test-results/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { convertFixture, snap } from './fixtures/packages';
import { expect, panels, test } from './fixtures/pages';

const SAMPLE = join('public', 'samples', 'shapes.png');
const CHART = join('public', 'samples', 'chart.png');
const Q1 = 'What shapes are in the picture?';
const Q2 = 'Which one is largest?';
const Q3 = 'Tell me everything about its colour, at length.';

async function followUp(page: Page, question: string) {
  await page.getByTestId('followup.input').fill(question);
  await page.getByTestId('followup.ask').click();
}

test('ask, follow up, two turns; Stop mid follow-up; a reload restores the conversation', async ({ page }, info) => {
  test.setTimeout(600_000);
  const ui = panels(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?e2e');
  await ui.model.waitReady();
  await page.getByTestId('method.max-tokens').selectOption('8');
  await ui.method.choose('sparsevlm', 64);
  await ui.input.upload(SAMPLE);
  await expect(page.getByTestId('input.image')).toBeVisible();

  // Turn 1: no follow-up box while it runs, one under the answer once it is there.
  await ui.input.ask(Q1);
  await expect(page.getByTestId('answer.status')).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
  await expect(page.getByTestId('followup.input')).toHaveCount(0);
  await ui.answer.waitSettled();
  const first = (await ui.api.currentRun())!;
  expect(first.status).toBe('done');
  const firstTrace = (await ui.api.trace())!;
  expect(firstTrace.stages.length, 'turn 1 pruned').toBeGreaterThan(0);
  await expect(page.getByTestId('answer.turns')).toHaveCount(0);

  // Turn 2 on the kept caches.
  await followUp(page, Q2);
  await ui.answer.waitSettled();
  const second = (await ui.api.currentRun())!;
  expect(second.status).toBe('done');
  const trace = (await ui.api.trace())!;
  expect(trace.followUp).toMatchObject({ turn: 2, mode: 'reuse-cache', cache: 'reused' });
  expect(trace.stages, 'the kept sets of turn 1, nothing pruned again').toEqual(firstTrace.stages);
  expect(trace.visualPerLayer).toEqual(firstTrace.visualPerLayer);
  const turns = page.getByTestId('answer.turn');
  await expect(turns).toHaveCount(1); // the earlier turn above the current one
  await expect(turns.first()).toContainText(Q1);
  await expect(turns.first()).toContainText(first.text.trim().slice(0, 20));
  await expect(page.getByTestId('answer.label')).toContainText(Q2);
  await expect(page.getByTestId('followup.note')).toHaveAttribute('data-cache', 'reused');
  await snap(page, info, 'followup-01-two-turns');

  // Turn 3, stopped mid-answer.
  await page.getByTestId('method.max-tokens').selectOption('128');
  await followUp(page, Q3);
  await expect.poll(async () => (await ui.api.currentRun())?.tokenCount ?? 0, { timeout: 120_000 }).toBeGreaterThan(0);
  const running = (await ui.api.currentRun())!;
  expect(running.status, 'the follow-up still runs when Stop is pressed').toBe('running');
  await ui.input.stop().click();
  await expect(page.getByTestId('answer.status')).toHaveAttribute('data-status', 'stopped', { timeout: 5_000 });
  const stopped = (await ui.api.currentRun())!;
  expect(stopped.tokenCount).toBeLessThan(128);
  await expect(turns).toHaveCount(2);
  await expect(page.getByTestId('followup.input')).toBeVisible(); // the conversation goes on
  await snap(page, info, 'followup-02-stopped');

  // Reload: the conversation is back as turns, with the stopped answer.
  await page.reload();
  await expect(page.getByTestId('answer.turn')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('answer.turn').nth(0)).toContainText(Q1);
  await expect(page.getByTestId('answer.turn').nth(1)).toContainText(Q2);
  await expect(page.getByTestId('answer.label')).toContainText(Q3);
  await expect(page.getByTestId('answer.status')).toHaveAttribute('data-status', 'stopped');
  await expect(ui.answer.text).toHaveText(stopped.text);
  await ui.model.waitReady();
  await snap(page, info, 'followup-03-after-reload');

  // A follow-up after the reload: the new worker has no caches, so it prefills the whole conversation.
  await page.getByTestId('method.max-tokens').selectOption('8');
  await followUp(page, 'And now?');
  await ui.answer.waitSettled();
  expect((await ui.api.currentRun())!.status).toBe('done');
  expect((await ui.api.trace())!.followUp).toMatchObject({ turn: 4, cache: 'prefilled' });
  await expect(page.getByTestId('answer.turn')).toHaveCount(3);
  await expect(page.getByTestId('followup.note')).toHaveAttribute('data-cache', 'prefilled');
  await snap(page, info, 'followup-04-after-reload-answered');
});

test('saved runs keep a follow-up’s turns and every image of a multi-image run; Show puts them back', async ({
  page,
}, info) => {
  test.setTimeout(400_000);
  // The 64-token fixture on wasm (navigator.gpu hidden): two images in one question are quick there.
  const ui = panels(page);
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?e2e');
  await ui.model.waitReady();
  const url = `${new URL(page.url()).origin}${convertFixture('llama-clip-gqa-112', 'followup-')}`;
  await page.getByTestId('model.url').fill(url);
  await page.getByTestId('model.url').press('Enter');
  await expect(page.getByTestId('model.status')).toHaveAttribute('title', /Ready: llama-clip-gqa-112/, {
    timeout: 120_000,
  });
  await page.getByTestId('method.max-tokens').selectOption('8');
  await ui.method.choose('sparsevlm', 64);
  await ui.input.file().setInputFiles([CHART, SAMPLE]);
  await expect(page.getByTestId('input.thumb')).toHaveCount(2);

  await ui.input.ask(Q1);
  await ui.answer.waitSettled();
  await followUp(page, Q2);
  await ui.answer.waitSettled();
  expect((await ui.api.trace())!.followUp).toMatchObject({ turn: 2, cache: 'reused' });
  const answer = (await ui.api.currentRun())!.text;

  // The saved follow-up says which turn it is; its export carries the earlier turn.
  const item = page.getByTestId('history.item').filter({ hasText: Q2 });
  await expect(item.getByTestId('history.turn')).toHaveText('· turn 2', { timeout: 30_000 });
  const download = page.waitForEvent('download');
  await item.getByTestId('history.export-one').click();
  const doc = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as {
    runs: { question: string; answer: string; history?: { question: string; answer: string }[] }[];
  };
  expect(doc.runs).toHaveLength(1);
  expect(doc.runs[0]).toMatchObject({ question: Q2, answer, history: [{ question: Q1 }] });

  // Other images now; Show brings back both images in order and the conversation as turns.
  await ui.input.upload(SAMPLE);
  await expect(page.getByTestId('input.thumb')).toHaveCount(0);
  await item.getByTestId('history.show').click();
  await expect(page.getByTestId('input.thumb')).toHaveCount(2, { timeout: 30_000 });
  expect(
    await page.getByTestId('input.thumb').evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))),
  ).toEqual(['chart.png', 'shapes.png']);
  await expect(page.getByTestId('answer.turn')).toHaveCount(1);
  await expect(page.getByTestId('answer.turn').first()).toContainText(Q1);
  await expect(page.getByTestId('answer.label')).toContainText(Q2);
  await expect(page.getByTestId('explorer.image.1')).toBeVisible(); // its heatmaps, over its own images
  await snap(page, info, 'followup-05-saved-multi-shown');
});
