/** Issue 7, run history: the real IndexedDB store in headless Chromium survives a reload, lists, exports and deletes. */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures/console';

const page$ = (page: Page) => ({
  call: <T>(fn: string, ...args: unknown[]) =>
    page.evaluate(([f, a]) => (window as any).persistTest[f as string](...(a as unknown[])), [
      fn,
      args,
    ] as const) as Promise<T>,
});

test('runs are kept across a reload with thumbnails, listed newest first, exported and deleted', async ({ page }) => {
  await page.goto('/e2e/pages/persist.html');
  await page.waitForSelector('body[data-ready="1"]');
  const api = page$(page);
  await api.call('clear');
  const base = {
    model: 'synthetic-tiny',
    imageName: 'landscape.png',
    imageUrl: '/samples/landscape.png',
    label: 'SparseVLM 64',
    settings: { method: 'sparsevlm', budget: 64 },
    trace: { method: 'sparsevlm', visualPerLayer: [576, 82, 32, 18] },
  };
  const first = await api.call<string>('save', {
    ...base,
    createdAt: 1_700_000_000_000,
    question: 'What is in the sky?',
    answer: 'clouds',
    tokens: [3, 100, 300, 320],
  });
  const second = await api.call<string>('save', {
    ...base,
    createdAt: 1_700_000_100_000,
    question: 'Colour of the grass?',
    answer: 'green <img src=x onerror=alert(1)>',
    tokens: [5, 50, 450, 500],
  });

  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  const list = await api.call<any[]>('list');
  expect(list.map((r) => r.id)).toEqual([second, first]);
  expect(list[0]).toMatchObject({
    question: 'Colour of the grass?',
    answer: 'green <img src=x onerror=alert(1)>',
    settings: base.settings,
    metrics: { tokenCount: 5, tokensPerS: 10, firstTokenMs: 50, totalMs: 500 },
  });
  expect(list[0].trace).toBeUndefined(); // the list leaves traces out
  // The sample is 336×336: the thumbnail is a 160 px JPEG of a few KB.
  expect(list[0].thumbnail).toMatchObject({ type: 'image/jpeg', width: 160 });
  expect(list[0].thumbnail.bytes).toBeLessThan(20_000);
  const full = await api.call<any>('get', first);
  expect(full.trace).toEqual(base.trace);

  const doc = JSON.parse(await api.call<string>('exportText'));
  expect(doc).toMatchObject({ format: 'sparsevlm-runs', version: 1 });
  expect(doc.runs.map((r: { id: string }) => r.id)).toEqual([second, first]);
  expect(doc.runs[1].thumbnail).toMatch(/^data:image\/jpeg;base64,\/9j\//); // JPEG magic FF D8 FF
  expect(doc.runs[1].trace).toEqual(base.trace);
  expect(JSON.parse(await api.call<string>('exportText', [first])).runs.map((r: { id: string }) => r.id)).toEqual([
    first,
  ]);

  await api.call('remove', first);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  expect((await api.call<any[]>('list')).map((r) => r.id)).toEqual([second]);
  await api.call('clear');
  expect(await api.call<any[]>('list')).toEqual([]);
});
