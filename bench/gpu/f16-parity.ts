/**
 * Issue 11 on the GPU machine: every pruning method on q4f16 packages (and fp16, q4 for
 * comparison) of both fixture families, the WebGPU engine (Dawn on the real GPU, `shader-f16`
 * exposed by the toggle in src/cli/shared/nodeGpu.ts) against the wasm engine in the same
 * process: stages, kept sets, merges, visual tokens per layer, raters, 16 greedy tokens
 * (src/engine/pruneParity.ts), plus the method's share of prefill. Writes a log and JSON.
 *
 *   node f16-parity.mjs <fixtures dir> <out dir> [dtype,dtype…] [fixture,fixture…]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupNodeGpu } from '../../src/cli/shared/nodeGpu';
import { convertCheckpoint } from '../../src/convert/convert';
import { openCheckpointDir } from '../../src/convert/checkpoint/nodeCheckpoint';
import type { GenerateResult } from '../../src/engine/engine';
import { generationParity } from '../../src/engine/pruneParity';
import type { PackageReader } from '../../src/package/source';
import type { PackageDtype } from '../../src/package/manifest';
import { MemorySink } from '../../src/package/sink';

const [fixtures, out, dtypeList, nameList] = process.argv.slice(2);
const DTYPES = (dtypeList ?? 'q4f16,fp16,q4').split(',') as PackageDtype[];
const METHODS: [string, number][] = [
  ['sparsevlm', 64],
  ['sparsevlm-v1', 64],
  ['sparsevlm-v2', 64],
  ['fastv', 64],
  ['pdrop', 64],
  ['divprune', 64],
];
/** f32 kernels on two devices: 1e-5; f16 activations round every op to 2^-11 on two runtimes. */
const REL: Record<PackageDtype, number> = { fp32: 1e-5, q4: 1e-4, q4f16: 2e-2, fp16: 2e-2 };
mkdirSync(out, { recursive: true });
const lines: string[] = [];
const log = (s: string) => {
  console.log(s);
  lines.push(s);
  writeFileSync(join(out, 'f16-parity.log'), lines.join('\n') + '\n');
};

const reader = (files: Map<string, Uint8Array>, label: string): PackageReader => ({
  label,
  async read(path, onBytes) {
    const b = files.get(path);
    if (!b) throw new Error(`${label}: no ${path}`);
    onBytes?.(b.byteLength);
    return b.slice();
  },
  async stat(path) {
    const b = files.get(path);
    return b ? { bytes: b.byteLength } : null;
  },
});

const gpu = await setupNodeGpu();
if (!gpu.adapter) throw new Error(`no WebGPU adapter: ${gpu.reason}`);
log(
  `adapter: ${JSON.stringify(gpu.adapter.info ?? {})}; shader-f16: ${gpu.adapter.features.has('shader-f16')}; toggles: SVLM_DAWN_TOGGLES=${process.env.SVLM_DAWN_TOGGLES ?? ''}`,
);
const { Engine } = await import('../../src/engine/engine');
const webgpu = await Engine.create();
if (webgpu.adapter.backend !== 'webgpu')
  throw new Error(`engine on ${webgpu.adapter.backend}: ${webgpu.rt.fallbackReason}`);
const rt = webgpu.rt;
const wasm = Engine.withRuntime({
  ...rt,
  backend: 'wasm',
  adapter: { ...rt.adapter, backend: 'wasm' },
  fallbackReason: 'parity check',
  device: () => null,
});
const summary: Record<string, unknown>[] = [];
let failures = 0;
for (const name of (nameList ?? 'llama-clip-gqa,qwen2-siglip').split(',')) {
  const golden = JSON.parse(readFileSync(join(fixtures, name, 'golden.json'), 'utf8')) as { question: string };
  const image = new Uint8Array(readFileSync(join(fixtures, name, 'image.png')));
  for (const dtype of DTYPES) {
    const ckpt = await openCheckpointDir(join(fixtures, name));
    const sink = new MemorySink();
    await convertCheckpoint(ckpt, { dtype, sink });
    await ckpt.close?.();
    try {
      await webgpu.load(reader(sink.files, `${name}-${dtype}`));
      await wasm.load(reader(sink.files, `${name}-${dtype}`));
    } catch (e) {
      failures++;
      log(`${name} ${dtype}: could not load: ${(e as Error).message}`);
      continue;
    }
    log(
      `${name} ${dtype}: activations ${webgpu.model!.manifest.activationDtype}, WebGPU adapter shaderF16 ${webgpu.adapter.shaderF16}`,
    );
    for (const [method, budget] of METHODS) {
      const run = (e: typeof webgpu): Promise<GenerateResult> =>
        e.generate({
          image: { bytes: image, name: 'image.png' },
          question: golden.question,
          settings: { method, budget },
          options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
          onToken: () => {},
        });
      try {
        const a = await run(webgpu);
        const b = await run(wasm);
        const r = generationParity(a, b, webgpu.model!.manifest.vision.visualTokens, REL[dtype]);
        if (r.problems.length) failures++;
        const t = a.trace.timings;
        log(
          `  ${method} ${budget}: ${r.problems.length ? 'DIFFERS' : 'same'} — stages ${a.trace.stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut}`).join(', ')}; visual per layer ${a.trace.visualPerLayer.join('/')}; ${a.trace.stages.reduce((n, s) => n + s.merges.length, 0)} merged; tokens ${a.tokenIds.join(' ')}; worst score Δ ${r.worstScore.toExponential(2)}; swaps ${r.swaps.length}; webgpu prefill ${t.prefillMs.toFixed(1)} ms (method ${t.methodMs.toFixed(2)} ms), wasm prefill ${b.trace.timings.prefillMs.toFixed(1)} ms${r.problems.length ? `\n    ${r.problems.join('\n    ')}` : ''}`,
        );
        summary.push({
          name,
          dtype,
          method,
          budget,
          same: r.problems.length === 0,
          problems: r.problems,
          worstScore: r.worstScore,
          swaps: r.swaps,
          visualPerLayer: a.trace.visualPerLayer,
          tokens: a.tokenIds,
          wasmTokens: b.tokenIds,
          webgpuPrefillMs: t.prefillMs,
          webgpuMethodMs: t.methodMs,
          wasmPrefillMs: b.trace.timings.prefillMs,
        });
      } catch (e) {
        failures++;
        log(`  ${method} ${budget}: ERROR ${(e as Error).message}`);
        summary.push({ name, dtype, method, budget, same: false, error: (e as Error).message });
      }
      writeFileSync(
        join(out, 'f16-parity.json'),
        JSON.stringify(
          { adapter: gpu.adapter.info, shaderF16: gpu.adapter.features.has('shader-f16'), runs: summary },
          null,
          1,
        ),
      );
    }
  }
}
log(`${failures ? `${failures} runs differ or failed` : 'every run: WebGPU = wasm'}`);
await webgpu.dispose();
await wasm.dispose();
process.exit(0);
