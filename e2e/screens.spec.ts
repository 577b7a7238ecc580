/**
 * Screenshots of every view as a person meets it, at 1280×800 and at phone width (390×844), in
 * light and dark (prefers-color-scheme), in test-results/screens/ (git-ignored; SCREENS_DIR to
 * put them elsewhere), for a person to look at before a UI change is called done (issue 12's
 * acceptance). Opt-in, because it asks five questions on SwiftShader (5–15 min on a busy
 * machine): `SCREENS=1 npx playwright test e2e/screens.spec.ts`.
 *
 * Besides the pictures, each view is checked for what a look finds first: nothing wider than
 * the window, no text cut off by its box (an ellipsis or a clipped label), and text that can be
 * read on its background (WCAG contrast 3:1 at least, alpha-blended backgrounds included).
 * The always-on specs (app.spec, app-person.spec) shoot the whole page and check its width.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, openHubSettings, panels, test, type Fixtures } from './fixtures/pages';

// SCREENS_DIR: somewhere a later `playwright test` does not empty (it clears test-results/ first).
const DIR = process.env.SCREENS_DIR ?? join('test-results', 'screens');
const SAMPLE = join('public', 'samples', 'shapes.png');
const SIZES = [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
] as const;
const PANELS = ['method', 'model', 'history', 'input', 'answer', 'explorer', 'raters', 'cost', 'compare', 'eval'];

test.skip(!process.env.SCREENS, 'opt-in: SCREENS=1 (asks five questions on SwiftShader, 5–15 min)');
test.describe.configure({ mode: 'serial' });

let page: Page;
let ui: Fixtures;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  ui = panels(page);
});
test.afterAll(async () => {
  await page?.close();
});

/** Elements inside `root` whose text is cut by their box, and text on a background it cannot be read on. */
async function problems(root: string): Promise<{ cut: string[]; faint: string[] }> {
  return page.evaluate((selector) => {
    const parse = (c: string): [number, number, number, number] | null => {
      const m = c.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/);
      if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
      const s = c.match(/color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)/);
      if (s) return [Number(s[1]) * 255, Number(s[2]) * 255, Number(s[3]) * 255, s[4] === undefined ? 1 : Number(s[4])];
      return null;
    };
    const over = (top: number[], under: number[]) =>
      top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3]));
    /** The colour behind `el`: its own and its ancestors' backgrounds blended down to the page's. */
    const behind = (el: Element): number[] => {
      const layers: number[][] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const bg = parse(getComputedStyle(e).backgroundColor);
        if (bg && bg[3] > 0) {
          layers.push(bg);
          if (bg[3] >= 1) break;
        }
      }
      let colour = [255, 255, 255];
      for (const l of layers.reverse()) colour = over(l, colour);
      return colour;
    };
    const luminance = (rgb: number[]) => {
      const [r, g, b] = rgb.map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a: number[], b: number[]) => {
      const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const cut: string[] = [];
    const faint: string[] = [];
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''}.${[...el.classList].join('.')} “${(el.textContent ?? '').trim().slice(0, 60)}”`;
    for (const el of document.querySelectorAll(`${selector} *`)) {
      if (el.closest('svg') || !(el instanceof HTMLElement)) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none' || el.offsetParent === null) continue;
      if (el.closest('.sr-only, details:not([open]) > :not(summary)')) continue;
      const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (!ownText) continue;
      const clips = /hidden|clip/.test(style.overflowX) || style.textOverflow === 'ellipsis';
      if (clips && el.scrollWidth > el.clientWidth + 1 && !/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))
        cut.push(name(el));
      const fg = parse(style.color);
      if (!fg || Number(style.opacity) === 0) continue;
      const bg = behind(el);
      const r = ratio(over(fg, bg), bg);
      if (r < 3) faint.push(`${name(el)}: ${r.toFixed(2)}:1`);
    }
    // Chart text: inside its chart (an <svg> clips what sticks out), and not on top of other text.
    for (const svg of document.querySelectorAll(`${selector} svg`)) {
      const box = svg.getBoundingClientRect();
      if (box.width === 0) continue;
      const texts = [...svg.querySelectorAll('text')]
        .filter((t) => (t.textContent ?? '').trim())
        .map((t) => ({ t, r: t.getBoundingClientRect() }));
      for (const { t, r } of texts) {
        if (r.right > box.right + 1 || r.left < box.left - 1 || r.bottom > box.bottom + 1 || r.top < box.top - 1)
          cut.push(`chart text “${t.textContent}” sticks out of its chart`);
      }
      for (let i = 0; i < texts.length; i++)
        for (let j = i + 1; j < texts.length; j++) {
          const [a, b] = [texts[i].r, texts[j].r];
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1)
            cut.push(`chart texts “${texts[i].t.textContent}” and “${texts[j].t.textContent}” overlap`);
        }
    }
    return { cut, faint };
  }, root);
}

/** Every panel and the whole page, in the four looks; each checked as problems() says. */
async function shoot(view: string, panelIds = PANELS) {
  const found: string[] = [];
  for (const [size, viewport] of SIZES) {
    await page.setViewportSize(viewport);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const look = `${view}-${size}-${scheme}`;
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth),
        `${look}: wider than the window`,
      ).toBeLessThanOrEqual(viewport.width);
      await page.evaluate(() => window.scrollTo(0, 0)); // the first screen, at desktop size
      await page.screenshot({ path: join(DIR, `${look}.png`), fullPage: size === 'phone' });
      for (const id of panelIds) {
        const panel = page.getByTestId(`${id}.panel`);
        if (!(await panel.isVisible())) continue;
        await panel.screenshot({ path: join(DIR, `${look}-${id}.png`) });
        const { cut, faint } = await problems(`[data-testid="${id}.panel"]`);
        found.push(...cut.map((c) => `${look} ${id}: cut ${c}`), ...faint.map((f) => `${look} ${id}: faint ${f}`));
      }
      const head = await problems('.app-head');
      found.push(...head.faint.map((f) => `${look} header: faint ${f}`));
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  expect(found, 'text cut by its box, or too faint on its background').toEqual([]);
}

test('while the model loads: progress, and a question that waits for it', async () => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/?e2e');
  await expect(page.getByTestId('model.progress')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('input.sample.shapes').click();
  await page.getByTestId('method.max-tokens').selectOption('8');
  await ui.input.ask('What is in the picture?');
  await expect(ui.answer.status).toHaveText('Waiting for the model');
  await shoot('01-loading', ['model', 'input', 'answer']);
  await ui.model.waitReady();
});

test('an answer: explorer, raters, cost, saved run', async () => {
  test.setTimeout(300_000);
  await ui.answer.waitSettled();
  await expect(ui.answer.status).toHaveAttribute('data-status', 'done');
  await ui.explorer.stage(7).click();
  await ui.explorer.patch(0).hover();
  await shoot('02-answer');
});

test('five runs: the cost charts with their labels, the saved runs, compare side by side', async () => {
  test.setTimeout(1_200_000); // four answers; on a loaded 2-core machine each takes 1–3 min
  for (const [method, budget] of [
    ['fastv', 64],
    ['sparsevlm', 128],
    ['divprune', 64], // not pdrop: it has no budget (its budget buttons are disabled)
    ['sparsevlm-v2', 64],
  ] as const) {
    await ui.method.choose(method, budget);
    await ui.input.run().click();
    await ui.answer.waitSettled();
    await expect(ui.answer.status).toHaveAttribute('data-status', 'done');
  }
  // Compare two of them (answered already: the app shows those runs, nothing is computed again).
  await ui.compare.toggle().check();
  await page.getByTestId('compare.method.0').selectOption('sparsevlm');
  await page.getByTestId('compare.budget.0').selectOption('64');
  await page.getByTestId('compare.method.1').selectOption('sparsevlm');
  await page.getByTestId('compare.budget.1').selectOption('128');
  await page.getByTestId('compare.method.2').selectOption('fastv');
  await page.getByTestId('compare.budget.2').selectOption('64');
  await ui.input.run().click();
  await expect(page.locator('[data-testid="compare.column"] .pill.done')).toHaveCount(3);
  await shoot('03-five-runs-compare');
  await ui.compare.toggle().uncheck();
});

test('errors where the person is looking: a bad file, a model URL that fails', async ({ consoleErrors }) => {
  test.setTimeout(120_000);
  consoleErrors.expect(/ERR_CONNECTION_REFUSED.*127\.0\.0\.1:9\//);
  await ui.input.upload(join('package.json'));
  await expect(ui.input.error()).toBeVisible();
  await page.getByTestId('model.url').fill('http://127.0.0.1:9/');
  await page.getByTestId('model.url').press('Enter');
  await expect(page.getByTestId('model.error')).toContainText('is still loaded', { timeout: 60_000 });
  await openHubSettings(page);
  await shoot('04-errors', ['model', 'input']);
  await ui.input.upload(SAMPLE);
});
