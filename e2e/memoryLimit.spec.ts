/**
 * Issue 15, GPU memory as a person meets it: a question whose prefill the GPU cannot hold is
 * refused before any work starts, with the figures, where the person is looking (the input
 * panel), and nothing they gave is lost: the images stay, in order, and so does the question.
 *
 * The synthetic `many-heads-112` shape (make-synthetic: 64 attention heads over 4096 positions,
 * 64 visual tokens an image, one layer) on SwiftShader's WebGPU: 60 images make a prompt of
 * ~3900 tokens, inside the context (the context check lets it through), whose one-layer prefill
 * scores, 64 · L² · 4 bytes ≈ 3.9 GB, are over any device's largest buffer (SwiftShader 1 GiB,
 * 2 GiB − 4 on an H200). One image afterwards is answered.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { snap } from './fixtures/packages';
import { expect, panels, test } from './fixtures/pages';

const ROOT = join(import.meta.dirname, '..');
const FRAME = join('fixtures', 'multi', 'frames', 'frame-00.png');

/** The synthetic package under test-packages/ (served by the dev server), made by the project's CLI. */
function makeSynthetic(shape: string): string {
  const folder = `memory-${shape}-fp32`;
  const out = join(ROOT, 'test-packages', folder);
  rmSync(out, { recursive: true, force: true });
  const cli = [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/make-synthetic.ts')];
  execFileSync(process.execPath, [...cli, '--shape', shape, '--format', 'package', '--dtype', 'fp32', '--out', out], {
    stdio: 'pipe',
  });
  return `/test-packages/${folder}/`;
}

test('60 images over the GPU’s largest buffer: refused before any work, with the figures; images and question kept', async ({
  page,
}, info) => {
  test.setTimeout(300_000);
  const ui = panels(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/?e2e');
  await ui.model.waitReady();
  const url = `${new URL(page.url()).origin}${makeSynthetic('many-heads-112')}`;
  await page.getByTestId('model.url').fill(url);
  await page.getByTestId('model.url').press('Enter');
  await expect(page.getByTestId('model.status')).toHaveAttribute('title', new RegExp(`loaded from ${url}$`), {
    timeout: 120_000,
  });
  expect(await page.evaluate(() => !!navigator.gpu), 'WebGPU in the page').toBe(true);

  const bytes = readFileSync(FRAME);
  const images = Array.from({ length: 60 }, (_, i) => ({
    name: `frame-${i + 1}.png`,
    mimeType: 'image/png',
    buffer: bytes,
  }));
  await ui.input.file().setInputFiles(images);
  const thumbs = page.getByTestId('input.thumb');
  await expect(thumbs).toHaveCount(60);
  const question = 'What changes from one picture to the next?';
  await ui.input.ask(question);
  const error = ui.input.error();
  await expect(error).toContainText(
    /^60 images make a prompt of \d+ tokens; the model attends over all of them at once, 64 heads × /,
    {
      timeout: 60_000,
    },
  );
  await expect(error).toContainText(/more than this GPU's largest buffer \(\d+\.\d\d GiB\): at most \d+ images fit\./);
  // Nothing lost: the 60 images in their order, the question as typed.
  await expect(thumbs).toHaveCount(60);
  expect(await thumbs.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).toEqual(
    images.map((im) => im.name),
  );
  await expect(page.getByTestId('input.question')).toHaveValue(question);
  await snap(page, info, 'memory-01-refused');

  // The model is still there: one image is answered.
  await ui.input.file().setInputFiles([FRAME]);
  await expect(page.getByTestId('input.image')).toBeVisible();
  await ui.input.run().click();
  await ui.answer.waitSettled();
  await expect(ui.answer.status).toHaveAttribute('data-status', 'done');
  await expect(error).toHaveCount(0);
});
