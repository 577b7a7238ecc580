/**
 * Issue 3 acceptance in the browser: headless Chromium on SwiftShader WebGPU, the app's engine
 * worker (src/engine/worker.ts, ORT loaded inside it) loads a fixture checkpoint converted to
 * fp32 and reproduces its transformers golden (fixtures/<name>/golden.json): the same prompt
 * ids after image-token expansion, first-step logits within 1e-4, the same 16 greedy tokens.
 *
 * The packages are converted here by the project's converter into `test-packages/`
 * (git-ignored), which vite.config.ts serves at /test-packages/ from dev and preview. The
 * worker posts the first step's top-10 logits, so the logit check is over those 10 (the Node
 * golden test, src/engine/golden.test.ts, compares the whole vocabulary).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './fixtures/console';
import { convertFixture } from './fixtures/packages';
import type { GoldenRun } from './pages/engine';

const LOGIT_TOL = 1e-4;
const ROOT = join(import.meta.dirname, '..');

interface Golden {
  question: string;
  input_ids: number[];
  first_step_logits: number[];
  greedy16: number[];
}

for (const name of ['llama-clip-gqa', 'qwen2-siglip']) {
  test(`${name} (fp32) in the browser worker: same ids, top-10 logits within 1e-4, same 16 greedy tokens`, async ({
    page,
  }) => {
    const url = convertFixture(name);
    const golden = JSON.parse(readFileSync(join(ROOT, 'fixtures', name, 'golden.json'), 'utf8')) as Golden;
    const image = readFileSync(join(ROOT, 'fixtures', name, 'image.png')).toString('base64');

    await page.goto('/e2e/pages/engine.html');
    const arch = await page.evaluate(async () => (await navigator.gpu?.requestAdapter())?.info.architecture ?? 'none');
    expect(arch, 'WebGPU on SwiftShader').toBe('swiftshader');
    await page.waitForFunction(() => 'engineTest' in window);

    const run: GoldenRun = await page.evaluate(([u, img, q]) => window.engineTest.run(u, img, q, 16), [
      url,
      image,
      golden.question,
    ] as const);
    expect(run.adapter.backend).toBe('webgpu');
    expect(run.adapter.architecture).toBe('swiftshader');
    expect(run.model.dtype).toBe('fp32');

    const worst = run.firstStepTopLogits.reduce(
      (w, { id, value }) => Math.max(w, Math.abs(value - golden.first_step_logits[id])),
      0,
    );
    const t = run.timings;
    console.log(
      `${name} browser webgpu: max |Δlogit| over top-10 ${worst.toExponential(2)}; init ${run.initMs.toFixed(0)} ms, load ${run.loadMs.toFixed(0)} ms, ` +
        `prefill ${t.prefillMs.toFixed(0)} ms, decode ${t.decodeStepMs.reduce((a, b) => a + b, 0).toFixed(0)} ms (${t.decodeStepMs.length} steps)`,
    );
    const slowest = Object.entries(run.loadGaps)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, ms]) => `${k} ${ms} ms`)
      .join(', ');
    console.log(`${name} load: slowest steps before ${slowest}`);
    test.info().annotations.push({ type: 'max |Δlogit| (top-10)', description: worst.toExponential(2) });

    expect(run.inputIds).toEqual(golden.input_ids);
    expect(run.tokenIds).toEqual(golden.greedy16);
    expect(run.streamed, 'every token was streamed as it came').toEqual(run.tokenIds);
    expect(run.firstStepTopLogits).toHaveLength(10);
    // The top-10 ids are the golden's own top 10, in order (ties aside), and each value is within tolerance.
    const goldenTop = [...golden.first_step_logits.keys()]
      .sort((a, b) => golden.first_step_logits[b] - golden.first_step_logits[a])
      .slice(0, 10);
    expect(run.firstStepTopLogits.map((l) => l.id)).toEqual(goldenTop);
    expect(worst).toBeLessThan(LOGIT_TOL);
  });
}
