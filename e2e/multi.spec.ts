/**
 * Issue 15, the app side, end to end: several images in one question and a video sampled in
 * the page, on a fixture converted by the project's converter (llama-clip-gqa-112: 64 visual
 * tokens an image, 4 layers, a 2048-token context), the engine on wasm (navigator.gpu hidden:
 * the bundled model is slow on SwiftShader and nothing here is about the GPU path).
 *
 *  1. two images: shown in order, reordered; the explorer draws one heatmap each, and each
 *     heatmap's kept patches are the trace's kept origins that `locateOrigin` puts in that image;
 *  2. a video made in the page (canvas + MediaRecorder, WebM): sampled to 8 frames by default
 *     and to N when N is changed, a frame strip; N frame heatmaps on a timeline after a run;
 *  3. bad inputs, each with its message and the input kept: an unreadable video, a video with
 *     no picture (sound only), a frame count of 0, a video together with images, more frames
 *     than the context holds (the engine's figures).
 *  4. (last: it loads another model) Video-LLaVA (videollava-clip-112: 65 tokens a frame, its
 *     CLS first): the model card and the frame strip say 65 a frame (64 an image), from the
 *     manifest; 8 frame heatmaps on the model's 8×8 grid, each frame's kept patches = the
 *     trace's kept origins from its token 1 on (not one cell off), its CLS's fate as a mark.
 *
 * Screenshots at 1280×800 and 390 px wide, light and dark, in test-results/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { locateOrigin, type RequestTrace } from '../src/common/trace';
import { convertFixture, snap } from './fixtures/packages';
import { expect, panels, test, type Fixtures } from './fixtures/pages';

const FIXTURE = 'llama-clip-gqa-112';
const SHAPES = join('public', 'samples', 'shapes.png');
const CHART = join('public', 'samples', 'chart.png');

/** A WebM recorded in the page: a square moving across a canvas for `seconds` (or sound only). */
async function recordWebm(page: Page, kind: 'video' | 'audio', seconds: number): Promise<Buffer> {
  const bytes = await page.evaluate(
    async ([k, s]) => {
      let stream: MediaStream;
      let draw: (t: number) => void = () => {};
      if (k === 'video') {
        const canvas = document.createElement('canvas');
        canvas.width = 160;
        canvas.height = 120;
        const ctx = canvas.getContext('2d')!;
        draw = (t) => {
          ctx.fillStyle = '#1d3557';
          ctx.fillRect(0, 0, 160, 120);
          ctx.fillStyle = `hsl(${Math.round(t * 300)}, 80%, 60%)`;
          ctx.fillRect(10 + t * 80, 40, 40, 40);
        };
        stream = canvas.captureStream(30);
        // The capture's first frames are the blank canvas until a drawn one is committed: draw a while first.
        for (let i = 0; i < 10; i++) {
          draw(0);
          await new Promise((r) => setTimeout(r, 20));
        }
      } else {
        const audio = new AudioContext();
        await audio.resume();
        const osc = audio.createOscillator();
        const out = audio.createMediaStreamDestination();
        osc.connect(out);
        osc.start();
        stream = out.stream;
      }
      const recorder = new MediaRecorder(stream, { mimeType: k === 'video' ? 'video/webm;codecs=vp8' : 'audio/webm' });
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((r) => {
        recorder.onstop = r;
      });
      recorder.start(100);
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const tick = () => {
          const t = (performance.now() - t0) / 1000;
          draw(t);
          if (t < s) setTimeout(tick, 20);
          else resolve();
        };
        tick();
      });
      recorder.stop();
      await stopped;
      return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
    },
    [kind, seconds] as const,
  );
  return Buffer.from(bytes);
}

/** Each heatmap's kept patches (from the DOM) and the trace's kept origins located in that image. */
async function keptByImage(page: Page, trace: RequestTrace, stage: number) {
  const images = trace.images!;
  const fromTrace = images.map((_, k) =>
    trace.stages[stage].kept
      .flatMap((o) => {
        const at = locateOrigin(trace, o);
        return at.kind === 'patch' && at.image === k ? [at.patch] : [];
      })
      .sort((a, b) => a - b),
  );
  const shown = [];
  for (let k = 0; k < images.length; k++) {
    const patches = await page
      .getByTestId(`explorer.image.${k}`)
      .locator('[data-testid="explorer.patch"][data-state="kept"]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-patch'))));
    shown.push(patches.sort((a, b) => a - b));
  }
  return { fromTrace, shown };
}

let page: Page;
let ui: Fixtures;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(300_000);
  page = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  ui = panels(page);
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
  });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/?e2e');
  await ui.model.waitReady();
  const url = `${new URL(page.url()).origin}${convertFixture(FIXTURE, 'multi-')}`;
  await page.getByTestId('model.url').fill(url);
  await page.getByTestId('model.url').press('Enter');
  // The pill names the model; its tooltip says where it came from.
  await expect(page.getByTestId('model.status')).toHaveAttribute('title', `Ready: ${FIXTURE}, loaded from ${url}`, {
    timeout: 120_000,
  });
  await page.getByTestId('method.max-tokens').selectOption('8');
  await ui.method.choose('sparsevlm', 64);
});
test.afterAll(async () => {
  await page?.close();
});

/** The panels that show it, at 1280×800 and at phone width, light and dark (the whole page at 1280 light). */
async function snapAll(name: string, info: TestInfo, panelIds: string[]) {
  await snap(page, info, `${name}-page`);
  for (const [width, height] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme: scheme });
      for (const id of panelIds) {
        const path = join('test-results', 'screenshots', `${name}-${id}-${width}-${scheme}.png`);
        await page.getByTestId(`${id}.panel`).screenshot({ path });
        await info.attach(`${name}-${id}-${width}-${scheme}`, { path, contentType: 'image/png' });
      }
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
}

test('two images: order shown and changed, one heatmap each, kept patches as the trace says', async ({}, info) => {
  test.setTimeout(300_000);
  // Dropped together: both go in, in the order given.
  const dropped = await page.evaluateHandle(
    async (files) => {
      const dt = new DataTransfer();
      for (const [name, bytes] of files) dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'image/png' }));
      return dt;
    },
    [
      ['landscape.png', [...readFileSync(join('public', 'samples', 'landscape.png'))]],
      ['chart.png', [...readFileSync(CHART)]],
    ] as [string, number[]][],
  );
  await page.getByTestId('input.dropzone').dispatchEvent('drop', { dataTransfer: dropped });
  const thumbs = page.getByTestId('input.thumb');
  await expect(thumbs).toHaveCount(2);
  const order = () => thumbs.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
  await expect.poll(order).toEqual(['landscape.png', 'chart.png']);
  // Add appends; × removes.
  await page.getByTestId('input.add').setInputFiles(SHAPES);
  await expect(thumbs).toHaveCount(3);
  await thumbs.nth(0).getByTestId('input.thumb.remove').click();
  await expect.poll(order).toEqual(['chart.png', 'shapes.png']);
  await thumbs.nth(0).getByTestId('input.thumb.later').click();
  await expect(thumbs.nth(0)).toHaveAttribute('data-name', 'shapes.png');
  await thumbs.nth(1).getByTestId('input.thumb.earlier').click();
  await expect(thumbs.nth(0)).toHaveAttribute('data-name', 'chart.png');
  await expect(page.getByTestId('input.caption')).toHaveText('2 images, read by the model in this order');
  await ui.input.ask('Which picture has more colours?');
  await ui.answer.waitSettled();
  await expect(ui.answer.status).toHaveAttribute('data-status', 'done');

  const trace = (await ui.api.trace())!;
  expect(trace.images?.map((im) => im.name)).toEqual(['chart.png', 'shapes.png']);
  expect(trace.images?.map((im) => im.patches)).toEqual([64, 64]);
  const heatmaps = page.getByTestId('explorer.image');
  await expect(heatmaps).toHaveCount(2);
  const stage = trace.stages.findIndex((s) => s.layer >= 0);
  const after = trace.stages[stage].layer + 1;
  await page.getByTestId('explorer.layer').fill(String(after));
  const { fromTrace, shown } = await keptByImage(page, trace, stage);
  expect(fromTrace.flat().length, 'the first stage keeps patches of the images').toBeGreaterThan(0);
  expect(shown).toEqual(fromTrace);
  for (let k = 0; k < 2; k++) await expect(heatmaps.nth(k)).toHaveAttribute('data-kept', String(fromTrace[k].length));
  await expect(page.getByTestId('cost.per-image.row')).toHaveCount(2);
  // Pointing at a patch names its image.
  await page.getByTestId('explorer.image.1').locator('[data-testid="explorer.patch"]').nth(5).hover();
  await expect(page.getByTestId('explorer.fate')).toContainText(/^image 2, patch 5: /);
  await snapAll('multi-01-two-images', info, ['input', 'explorer']);
});

test('a video made in the page: 8 frames by default, N when set, N frame heatmaps on a timeline', async ({}, info) => {
  test.setTimeout(300_000);
  const webm = await recordWebm(page, 'video', 1.2);
  await ui.input.file().setInputFiles({ name: 'moving-square.webm', mimeType: 'video/webm', buffer: webm });
  const frames = page.getByTestId('input.frame');
  await expect(frames).toHaveCount(8, { timeout: 60_000 });
  await expect(page.getByTestId('input.frame-count')).toHaveValue('8');
  await expect(page.getByTestId('input.caption')).toContainText('moving-square.webm · 160×120px');
  await expect(page.getByTestId('input.caption')).toContainText('8 frames sampled evenly');
  // The frames differ: the square moves (the first and the last are not the same picture).
  const first = await frames.nth(0).locator('img').screenshot();
  const last = await frames.nth(7).locator('img').screenshot();
  expect(first.equals(last)).toBe(false);
  // The frame at 0 s is the recording's first picture: the square (hue 0, red) at x 10–50, y 40–80.
  const atStart = await frames
    .nth(0)
    .locator('img')
    .evaluate(async (img: HTMLImageElement) => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      return {
        square: [...ctx.getImageData(30, 60, 1, 1).data],
        background: [...ctx.getImageData(120, 100, 1, 1).data],
      };
    });
  expect(atStart.square[0], `red square at 0 s (pixel ${atStart.square})`).toBeGreaterThan(150);
  expect(atStart.background[0], `background at 0 s (pixel ${atStart.background})`).toBeLessThan(80);

  await page.getByTestId('input.frame-count').fill('4');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(frames).toHaveCount(4, { timeout: 60_000 });
  const times = await frames.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
  expect(times[0]).toBe('moving-square.webm @ 0.00 s');
  await ui.input.ask('Where does the square go?');
  await ui.answer.waitSettled();
  await expect(ui.answer.status).toHaveAttribute('data-status', 'done');
  const trace = (await ui.api.trace())!;
  expect(trace.images).toHaveLength(4);
  expect(trace.images!.every((im) => im.frame && im.frame.of > 1000)).toBe(true);
  await expect(page.getByTestId('explorer.images')).toHaveClass(/timeline/);
  await expect(page.getByTestId('explorer.image')).toHaveCount(4);
  const stage = trace.stages.findIndex((s) => s.layer >= 0);
  await page.getByTestId('explorer.layer').fill(String(trace.stages[stage].layer + 1));
  const { fromTrace, shown } = await keptByImage(page, trace, stage);
  expect(shown).toEqual(fromTrace);
  // The cost panel: one row per frame, each frame's visual work pruned below its unpruned patches × layers.
  const perFrame = page.getByTestId('cost.per-image.row');
  await expect(perFrame).toHaveCount(4);
  for (const share of await perFrame.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-share'))))) {
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
  }
  await snapAll('multi-02-video', info, ['input', 'explorer', 'cost']);
});

test('bad inputs: unreadable video, sound only, 0 frames, a video with images, more frames than fit', async ({}, info) => {
  test.setTimeout(300_000);
  const error = page.getByTestId('input.error');
  await ui.input.file().setInputFiles([SHAPES]);
  await expect(page.getByTestId('input.image')).toBeVisible();

  await ui.input
    .file()
    .setInputFiles({ name: 'broken.webm', mimeType: 'video/webm', buffer: Buffer.from('this is not a video at all') });
  await expect(error).toContainText(/^The video broken\.webm could not be read: /, { timeout: 30_000 });
  await expect(page.getByTestId('input.image')).toBeVisible(); // the image is still there

  const sound = await recordWebm(page, 'audio', 0.5);
  await ui.input.file().setInputFiles({ name: 'sound.webm', mimeType: 'video/webm', buffer: sound });
  await expect(error).toContainText('The video sound.webm has no frames: it holds no picture track (sound only?).', {
    timeout: 30_000,
  });
  await expect(page.getByTestId('input.image')).toBeVisible();

  const webm = await recordWebm(page, 'video', 0.8);
  await page.getByTestId('input.add').setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
  await expect(error).toContainText(/^A video and images cannot go into one question: .*Remove the image first/);
  await expect(page.getByTestId('input.image')).toBeVisible();
  await snapAll('multi-03-video-with-images', info, ['input']);

  await ui.input.file().setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
  await expect(page.getByTestId('input.frame')).toHaveCount(4, { timeout: 60_000 }); // N stays as set
  await page.getByTestId('input.frame-count').fill('0');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(error).toHaveText('The number of frames must be a whole number of at least 1, not 0.');
  await expect(page.getByTestId('input.frame')).toHaveCount(4);

  // 40 frames × 64 tokens is more than the 2048-token context: the engine's figures, in the input panel.
  await page.getByTestId('input.frame-count').fill('40');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(page.getByTestId('input.frame')).toHaveCount(40, { timeout: 120_000 });
  await ui.input.ask('What moves?');
  await expect(error).toContainText('40 frames take 40 × 64 = 2560 visual tokens', { timeout: 60_000 });
  await expect(error).toContainText(/but the model's context holds 2048: at most \d+ fit\./);
  await expect(page.getByTestId('input.frame')).toHaveCount(40);
  await expect(page.getByTestId('input.question')).toHaveValue('What moves?'); // the question stays too

  // 32 images likewise (32 × 64 = 2048 visual tokens alone fill the context).
  const many = Array.from({ length: 32 }, (_, i) => ({
    name: `shapes-${i + 1}.png`,
    mimeType: 'image/png',
    buffer: readFileSync(SHAPES),
  }));
  await ui.input.file().setInputFiles(many);
  await expect(page.getByTestId('input.thumb')).toHaveCount(32);
  await ui.input.run().click();
  await expect(error).toContainText('32 images take 32 × 64 = 2048 visual tokens', { timeout: 60_000 });
  await expect(error).toContainText(/at most \d+ fit\./);
  await expect(page.getByTestId('input.thumb')).toHaveCount(32);
  await ui.input.file().setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: webm });
  await page.getByTestId('input.frame-count').fill('40');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(page.getByTestId('input.frame')).toHaveCount(40, { timeout: 120_000 });
  await ui.input.run().click();
  await expect(error).toContainText('40 frames take 40 × 64 = 2560 visual tokens', { timeout: 60_000 });
  await snapAll('multi-04-too-many-frames', info, ['input']);
});

/** What the session store holds for the input ('input' key: several images or a video), read in the page. */
async function savedInput(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const open = indexedDB.open('sparsevlm-session', 1);
        open.onsuccess = () => {
          const get = open.result.transaction('kv', 'readonly').objectStore('kv').get('input');
          get.onsuccess = () => {
            const v = get.result as { kind: string; images?: { name: string }[]; video?: { name: string } } | undefined;
            resolve(
              !v
                ? 'none'
                : v.kind === 'video'
                  ? `video ${v.video!.name}`
                  : `images ${v.images!.map((im) => im.name).join(',')}`,
            );
            open.result.close();
          };
          get.onerror = () => resolve('error');
        };
        open.onerror = () => resolve('error');
      }),
  );
}

test('a reload keeps several images in their order, and a video with its frame count', async ({}, info) => {
  test.setTimeout(300_000);
  await ui.input.file().setInputFiles([CHART, SHAPES]);
  await expect(page.getByTestId('input.thumb')).toHaveCount(2);
  await page.getByTestId('input.thumb').nth(1).getByTestId('input.thumb.earlier').click();
  await expect.poll(() => savedInput(page)).toBe('images shapes.png,chart.png');
  await page.reload();
  const thumbs = page.getByTestId('input.thumb');
  await expect(thumbs).toHaveCount(2, { timeout: 30_000 });
  expect(await thumbs.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).toEqual([
    'shapes.png',
    'chart.png',
  ]);

  const webm = await recordWebm(page, 'video', 0.6);
  await ui.input.file().setInputFiles({ name: 'short.webm', mimeType: 'video/webm', buffer: webm });
  await page.getByTestId('input.frame-count').fill('5');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(page.getByTestId('input.frame')).toHaveCount(5, { timeout: 60_000 });
  await expect.poll(() => savedInput(page)).toBe('video short.webm');
  await page.reload();
  await expect(page.getByTestId('input.frame')).toHaveCount(5, { timeout: 60_000 });
  await expect(page.getByTestId('input.frame-count')).toHaveValue('5');
  await expect(page.getByTestId('input.caption')).toContainText('short.webm');
  await snap(page, info, 'multi-05-video-after-reload');
});

test('Video-LLaVA: 8 frames of CLS + 8×8, each heatmap on the grid from token 1, the CLS fate beside it', async ({}, info) => {
  test.setTimeout(300_000);
  // The model card before (the model the page has, LLaVA-1.5-shaped: frames go as images): one figure.
  await expect(page.getByTestId('model.tokens.image')).toHaveText(/^\d+ \(\d+×\d+ patches of a \d+px image\)$/);
  await expect(page.getByTestId('model.tokens.frame')).toHaveCount(0);
  const url = `${new URL(page.url()).origin}${convertFixture('videollava-clip-112', 'multi-')}`;
  await page.getByTestId('model.url').fill(url);
  await page.getByTestId('model.url').press('Enter');
  await expect(page.getByTestId('model.status')).toHaveAttribute(
    'title',
    `Ready: videollava-clip-112, loaded from ${url}`,
    { timeout: 120_000 },
  );
  // Its card states both towers' counts, from the manifest (a frame keeps its CLS: 65, not the image's 64).
  await expect(page.getByTestId('model.tokens.image')).toHaveText('per image: 64 (8×8 patches of a 112px image)');
  await expect(page.getByTestId('model.tokens.frame')).toHaveText('per frame: 65 (CLS + 8×8 patches of a 112px frame)');
  await ui.method.choose('sparsevlm', 64);
  const webm = await recordWebm(page, 'video', 1.2);
  await ui.input.file().setInputFiles({ name: 'moving-square.webm', mimeType: 'video/webm', buffer: webm });
  await page.getByTestId('input.frame-count').fill('8');
  await page.getByTestId('input.frame-count').press('Enter');
  await expect(page.getByTestId('input.frame')).toHaveCount(8, { timeout: 60_000 });
  await expect(page.getByTestId('input.caption')).toContainText(
    "8 frames sampled evenly, each 65 tokens through the model's video tower (CLS + 8×8 patches)",
  );
  await ui.input.ask('Where does the square go?');
  await ui.answer.waitSettled();
  await expect(ui.answer.status).toHaveAttribute('data-status', 'done');

  const trace = (await ui.api.trace())!;
  // The video tower's tokens: CLS first, then 8×8 patches, 65 a frame, back to back.
  expect(trace.images?.map((im) => [im.origin, im.patches, im.leading])).toEqual(
    Array.from({ length: 8 }, (_, k) => [65 * k, 65, 1]),
  );
  await expect(page.getByTestId('explorer.images')).toHaveClass(/timeline/);
  const heatmaps = page.getByTestId('explorer.image');
  await expect(heatmaps).toHaveCount(8);
  const stage = trace.stages.findIndex((s) => s.layer >= 0);
  await page.getByTestId('explorer.layer').fill(String(trace.stages[stage].layer + 1));
  // Kept patches by the origins' arithmetic alone (frame k's patch p = origin 65k + 1 + p), not locateOrigin.
  const { kept, merges } = trace.stages[stage];
  const fromTrace = trace.images!.map((im) =>
    kept.filter((o) => o > im.origin && o < im.origin + im.patches).map((o) => o - im.origin - 1),
  );
  expect(fromTrace.flat().length, 'the first stage keeps patches of the frames').toBeGreaterThan(0);
  const shown = [];
  for (let k = 0; k < 8; k++) {
    const cells = page.getByTestId(`explorer.image.${k}`).locator('[data-testid="explorer.patch"]');
    await expect(cells).toHaveCount(64);
    const all = await cells.evaluateAll((els) =>
      els.map((e) => ({
        patch: Number(e.getAttribute('data-patch')),
        state: e.getAttribute('data-state'),
        x: Number(e.getAttribute('x')),
        y: Number(e.getAttribute('y')),
      })),
    );
    // On the model's 8×8 grid: patch p at row p / 8, column p % 8 (the 8×9 fallback put it elsewhere).
    const side = all[1].x - all[0].x;
    for (const c of all) expect([c.x, c.y]).toEqual([(c.patch % 8) * side, Math.floor(c.patch / 8) * side]);
    shown.push(
      all
        .filter((c) => c.state === 'kept')
        .map((c) => c.patch)
        .sort((a, b) => a - b),
    );
  }
  expect(shown).toEqual(fromTrace.map((f) => f.slice().sort((a, b) => a - b)));
  // Each frame's CLS (its origin): kept, merged (a member of a merge), or dropped — beside the frame.
  const clsFromTrace = trace.images!.map((im) =>
    kept.includes(im.origin) ? 'kept' : merges.some((m) => m.members.includes(im.origin)) ? 'merged' : 'dropped',
  );
  const clsShown = await page
    .getByTestId('explorer.image.cls')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
  expect(clsShown).toEqual(clsFromTrace);
  await expect(page.getByTestId('explorer.legend.cls')).toBeVisible();
  await expect(page.getByTestId('explorer.span-note')).toContainText(
    "each frame's CLS token first, then its 64 patches",
  );
  // Pointing at a frame's CLS mark says its fate in words.
  await page.getByTestId('explorer.image.cls').nth(2).hover();
  await expect(page.getByTestId('explorer.fate')).toContainText(/^frame 3, frame token \(CLS\): /);
  await expect(page.getByTestId('cost.per-image.row')).toHaveCount(8);
  await expect(page.getByTestId('cost.per-image')).toContainText("each frame's CLS token counts as one of its tokens");
  console.log(
    `videollava: stage after layer ${trace.stages[stage].layer}, kept patches per frame ${fromTrace.map((f) => f.length).join(',')}, CLS ${clsFromTrace.join(',')}`,
  );
  await snap(page, info, 'multi-06-videollava-page');
  await snapAll('multi-06-videollava', info, ['explorer', 'cost']);
});
