/**
 * Issue 11 on the GPU machine: every pruning method on q4f16 and fp16 packages (and q4 for
 * comparison), three runs of each request compared:
 *   - the WebGPU engine (Dawn on the real GPU, `shader-f16` exposed by the toggle in
 *     src/cli/shared/nodeGpu.ts),
 *   - the wasm engine in the same process,
 *   - the CPU reference runner (src/convert/testing/reference/runner.ts `generatePruned`: its own
 *     splice, plan application, caches and decode loop on onnxruntime's CPU EP; here that EP is
 *     onnxruntime-web's wasm build, bench/gpu/ortNodeShim.ts, since onnxruntime-node's native
 *     library does not fit the carry), whose prune backend records how clearly each decision
 *     was won (src/engine/decisionMargins.ts).
 * Compared: stages, kept sets, merges, visual tokens per layer, raters, 16 greedy tokens
 * (src/engine/pruneParity.ts), KV bytes per layer (engine vs reference); then each f16 package
 * against q4 (visual tokens per layer and kept sets). Fixtures: the designed fixtures of both
 * families, `margins` (LLaMA + CLIP) and `margins-qwen2-siglip` (Qwen2 + SigLIP)
 * (src/convert/synthetic/margins.ts: every decision won by a clear margin, so f16 rounding cannot
 * flip one), and the random fixture families (llama-clip-gqa, qwen2-siglip: scores near 1/576,
 * flat logits). Writes f16-parity.log and f16-parity.json under the out dir.
 *
 *   node f16-parity.mjs <fixtures dir> <out dir> [dtype,dtype…] [fixture,fixture…]
 *   (tokenizer for `margins`: $MARGINS_TOKENIZER_DIR, else <fixtures>/open-llava15-deep; for
 *   `margins-qwen2-siglip`: $MARGINS_QWEN2_TOKENIZER_DIR, else <fixtures>/qwen2-siglip)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupNodeGpu } from '../../src/cli/shared/nodeGpu';
import { convertCheckpoint } from '../../src/convert/convert';
import { openCheckpointDir } from '../../src/convert/checkpoint/nodeCheckpoint';
import {
  MARGINS_BUDGETS,
  MARGINS_FAMILIES,
  MARGINS_QUESTION,
  marginsImagePng,
  type MarginsFamilyName,
} from '../../src/convert/synthetic/margins';
import { loadReferenceModel, readFromMap } from '../../src/convert/testing/reference/package';
import { pixelValuesFor } from '../../src/convert/testing/reference/pixels';
import { ReferenceRunner } from '../../src/convert/testing/reference/runner';
import { MarginProbe, smallestByKind } from '../../src/engine/decisionMargins';
import type { GenerateResult } from '../../src/engine/engine';
import { marginsCheckpoint, marginsPackage } from '../../src/engine/marginsFixture.testutil';
import { generationParity, stageParity } from '../../src/engine/pruneParity';
import { createMethod } from '../../src/prune/registry';
import type { PackageReader } from '../../src/package/source';
import type { PackageDtype } from '../../src/package/manifest';
import { MemorySink } from '../../src/package/sink';

const [fixtures, out, dtypeList, nameList] = process.argv.slice(2);
const DTYPES = (dtypeList ?? 'q4f16,fp16,q4').split(',') as PackageDtype[];
const NAMES = (nameList ?? 'margins,margins-qwen2-siglip,llama-clip-gqa,qwen2-siglip').split(',');
/** The designed fixtures: name → family and where its tokenizer files are. */
const MARGINS: Record<string, { family: MarginsFamilyName; tokenizerDir: () => string }> = {
  margins: {
    family: 'llama-clip',
    tokenizerDir: () =>
      process.env.MARGINS_TOKENIZER_DIR ?? join(fixtures, MARGINS_FAMILIES['llama-clip'].tokenizerFixture),
  },
  'margins-qwen2-siglip': {
    family: 'qwen2-siglip',
    tokenizerDir: () =>
      process.env.MARGINS_QWEN2_TOKENIZER_DIR ?? join(fixtures, MARGINS_FAMILIES['qwen2-siglip'].tokenizerFixture),
  },
};
const RANDOM_FIXTURE_METHODS: [string, number][] = [
  ['sparsevlm', 64],
  ['sparsevlm-v1', 64],
  ['sparsevlm-v2', 64],
  ['fastv', 64],
  ['pdrop', 64],
  ['divprune', 64],
];
/** f32 kernels on two devices: 1e-5; f16 activations round every op to 2^-11 on two runtimes. */
const REL: Record<PackageDtype, number> = { fp32: 1e-5, q4: 1e-4, q4f16: 2e-2, fp16: 2e-2 };
/** The margins fixture's claim: every decision won by at least this (relative), every token by ≥ 1 logit. */
const MARGIN_FLOOR = 0.05;
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

const t0 = performance.now();
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

interface Fixture {
  question: string;
  image: Uint8Array;
  methods: [string, number][];
  package(dtype: PackageDtype): Promise<Map<string, Uint8Array>>;
}

async function fixture(name: string): Promise<Fixture> {
  const designed = MARGINS[name];
  if (designed) {
    const ckpt = await marginsCheckpoint(designed.tokenizerDir(), designed.family);
    return {
      question: MARGINS_QUESTION,
      image: await marginsImagePng(),
      methods: MARGINS_BUDGETS,
      package: (dtype) => marginsPackage(ckpt, dtype),
    };
  }
  const golden = JSON.parse(readFileSync(join(fixtures, name, 'golden.json'), 'utf8')) as { question: string };
  return {
    question: golden.question,
    image: new Uint8Array(readFileSync(join(fixtures, name, 'image.png'))),
    methods: RANDOM_FIXTURE_METHODS,
    async package(dtype) {
      const ckpt = await openCheckpointDir(join(fixtures, name));
      const sink = new MemorySink();
      await convertCheckpoint(ckpt, { dtype, sink });
      await ckpt.close?.();
      return sink.files;
    },
  };
}

/** Engine result vs the reference runner's: the differences, empty when they agree. */
function versusReference(
  a: GenerateResult,
  want: Awaited<ReturnType<ReferenceRunner['generatePruned']>>,
  visualTokens: number,
  rel: number,
): string[] {
  const r = stageParity(a.trace.stages, want.stages, visualTokens, rel).problems;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.trace.visualPerLayer, want.visualPerLayer))
    r.push(`visual per layer ${a.trace.visualPerLayer.join('/')} vs ${want.visualPerLayer.join('/')}`);
  if (!same(a.trace.raters?.raters ?? null, want.raters)) r.push('raters differ');
  if (!same(a.tokenIds, want.tokens)) r.push(`tokens ${a.tokenIds.join(' ')} vs ${want.tokens.join(' ')}`);
  if (!same(a.trace.cost.kvBytesPerLayer, want.kvBytesPerLayer))
    r.push(`KV bytes ${a.trace.cost.kvBytesPerLayer.join('/')} vs ${want.kvBytesPerLayer.join('/')}`);
  return r;
}

const summary: Record<string, unknown>[] = [];
const visual = new Map<string, { perLayer: number[]; kept: number[][] }>(); // `${name} ${method} ${dtype}`
const wasmOnly = new Set<string>(); // keys of `visual` taken from wasm (WebGPU could not load the package)
let failures = 0;
const write = () =>
  writeFileSync(
    join(out, 'f16-parity.json'),
    JSON.stringify(
      { adapter: gpu.adapter!.info, shaderF16: gpu.adapter!.features.has('shader-f16'), runs: summary },
      null,
      1,
    ),
  );
for (const name of NAMES) {
  const fx = await fixture(name);
  const imagePath = join(tmpdir(), `f16-parity-${name}.png`);
  writeFileSync(imagePath, fx.image);
  for (const dtype of DTYPES) {
    let ref: ReferenceRunner;
    let pixels: Float32Array;
    // Where WebGPU cannot load the package (f16 on an adapter without shader-f16, e.g. SwiftShader
    // here) the wasm side still runs against the reference; the missing WebGPU side is a failure.
    let noWebgpu: string | null = null;
    try {
      const files = await fx.package(dtype);
      try {
        await webgpu.load(reader(files, `${name}-${dtype}`));
      } catch (e) {
        if (webgpu.adapter.shaderF16) throw e;
        noWebgpu = (e as Error).message;
      }
      await wasm.load(reader(files, `${name}-${dtype}`));
      ref = await ReferenceRunner.create(await loadReferenceModel(readFromMap(files)));
      pixels = (await pixelValuesFor(files.get('preprocessor_config.json')!, imagePath)).data;
    } catch (e) {
      failures++;
      log(`${name} ${dtype}: could not load: ${(e as Error).message}`);
      continue;
    }
    log(
      `${name} ${dtype}: activations ${wasm.model!.manifest.activationDtype}, WebGPU adapter shaderF16 ${webgpu.adapter.shaderF16} (${((performance.now() - t0) / 1000).toFixed(0)} s)${noWebgpu ? `; WebGPU NOT RUN (wasm vs reference only): ${noWebgpu}` : ''}`,
    );
    if (noWebgpu) failures++;
    const V = wasm.model!.manifest.vision.visualTokens;
    for (const [method, budget] of fx.methods) {
      const run = (e: typeof webgpu): Promise<GenerateResult> =>
        e.generate({
          image: { bytes: fx.image, name: 'image.png' },
          question: fx.question,
          settings: { method, budget },
          options: { maxNewTokens: 16, temperature: 0, topP: 1, seed: 0 },
          onToken: () => {},
        });
      try {
        const a = noWebgpu ? null : await run(webgpu);
        const b = await run(wasm);
        const probe = new MarginProbe();
        const want = await ref.generatePruned(
          b.inputIds,
          pixels,
          createMethod(method, { budget }, wasm.dims()),
          wasm.dims(),
          16,
          probe,
        );
        const gw = a ? generationParity(a, b, V, REL[dtype]).problems : [];
        const gr = a ? versusReference(a, want, V, REL[dtype]) : [];
        const wr = versusReference(b, want, V, REL[dtype]);
        const margins = smallestByKind(probe.margins);
        const decisionGap = Math.min(...Object.values(margins));
        const tokenGap = Math.min(...want.margins);
        const marginsOk = decisionGap >= MARGIN_FLOOR && tokenGap >= 1;
        const ok = !gw.length && !gr.length && !wr.length;
        // A verdict per comparison: decisions (everything but the score check) and scores apart —
        // on the margins fixture the logits spread over ~60, so f16 scores can be 30 % apart
        // (~0.3 logit) while no decision is near changing.
        const decisions = (p: string[]) => (p.some((x) => !/scores differ by more than/.test(x)) ? 'NO' : 'yes');
        const scores = (p: string[]) =>
          p.some((x) => /scores differ by more than/.test(x)) ? `off > ${REL[dtype]}` : 'ok';
        const verdict = (p: string[], ran = true) => (ran ? `${decisions(p)} (scores ${scores(p)})` : 'not run');
        if (!ok || (name in MARGINS && !marginsOk)) failures++;
        const shown = a ?? b; // WebGPU's run, wasm's where WebGPU did not run
        if (!a) wasmOnly.add(`${name} ${method} ${dtype}`);
        visual.set(`${name} ${method} ${dtype}`, {
          perLayer: shown.trace.visualPerLayer,
          kept: shown.trace.stages.map((s) => s.kept),
        });
        const t = shown.trace.timings;
        log(
          `  ${method} ${budget}: decisions and tokens WebGPU=wasm ${verdict(gw, !!a)}, WebGPU=reference ${verdict(gr, !!a)}, wasm=reference ${verdict(wr)} — stages ${shown.trace.stages.map((s) => `L${s.layer} ${s.visualIn}→${s.visualOut}`).join(', ')}; visual per layer ${shown.trace.visualPerLayer.join('/')}; ${shown.trace.stages.reduce((n, s) => n + s.merges.length, 0)} merged; tokens ${shown.tokenIds.join(' ')}; KV bytes ${shown.trace.cost.kvBytesPerLayer.join('/')}; smallest decision gap ${decisionGap.toFixed(3)} (${Object.entries(
            margins,
          )
            .map(([k, v]) => `${k} ${v!.toFixed(3)}`)
            .join(
              ', ',
            )}), smallest top-2 logit gap ${tokenGap.toFixed(2)}; ${a ? 'webgpu' : 'wasm'} prefill ${t.prefillMs.toFixed(1)} ms${[
            ...gw.map((p) => `\n    WebGPU vs wasm: ${p}`),
            ...gr.map((p) => `\n    WebGPU vs reference: ${p}`),
            ...wr.map((p) => `\n    wasm vs reference: ${p}`),
          ].join('')}`,
        );
        summary.push({
          name,
          dtype,
          method,
          budget,
          webgpuRan: !!a,
          decisionsWebgpuEqualsWasm: a ? decisions(gw) === 'yes' : null,
          decisionsWebgpuEqualsReference: a ? decisions(gr) === 'yes' : null,
          decisionsWasmEqualsReference: decisions(wr) === 'yes',
          webgpuEqualsWasm: a ? !gw.length : null,
          webgpuEqualsReference: a ? !gr.length : null,
          wasmEqualsReference: !wr.length,
          problems: { webgpuVsWasm: gw, webgpuVsReference: gr, wasmVsReference: wr },
          margins,
          decisionGap,
          tokenGap,
          marginDetail: probe.margins,
          visualPerLayer: shown.trace.visualPerLayer,
          tokens: a?.tokenIds ?? null,
          wasmTokens: b.tokenIds,
          referenceTokens: want.tokens,
          kvBytesPerLayer: shown.trace.cost.kvBytesPerLayer,
          webgpuPrefillMs: a?.trace.timings.prefillMs ?? null,
          webgpuMethodMs: a?.trace.timings.methodMs ?? null,
          wasmPrefillMs: b.trace.timings.prefillMs,
        });
      } catch (e) {
        failures++;
        log(`  ${method} ${budget}: ERROR ${(e as Error).stack ?? (e as Error).message}`);
        summary.push({ name, dtype, method, budget, error: (e as Error).message });
      }
      write();
    }
    await ref.release();
  }
  // f16 packages against q4: the same visual tokens per layer and kept sets.
  for (const [method] of fx.methods)
    for (const dtype of DTYPES.filter((d) => d !== 'q4')) {
      const q4 = visual.get(`${name} ${method} q4`);
      const f16 = visual.get(`${name} ${method} ${dtype}`);
      if (!q4 || !f16) continue;
      const same = JSON.stringify(q4) === JSON.stringify(f16);
      if (!same) failures++;
      const where = wasmOnly.has(`${name} ${method} ${dtype}`) ? ` (${dtype} on wasm, WebGPU could not load it)` : '';
      log(`  ${name} ${method} ${dtype} vs q4: visual per layer and kept sets ${same ? 'same' : 'DIFFER'}${where}`);
      summary.push({ name, method, dtype, versusQ4: same });
      write();
    }
}
// One line per fixture and package: how many methods agree, decisions and tokens apart.
for (const name of NAMES)
  for (const dtype of DTYPES) {
    const runs = summary.filter((r) => r.name === name && r.dtype === dtype && r.versusQ4 === undefined);
    if (!runs.length) continue;
    const n = (f: (r: Record<string, unknown>) => boolean) => `${runs.filter(f).length}/${runs.length}`;
    const eq = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
    const q4 = summary.filter((r) => r.name === name && r.dtype === dtype && r.versusQ4 !== undefined);
    log(
      `summary ${name} ${dtype}: decisions WebGPU=wasm ${n((r) => r.decisionsWebgpuEqualsWasm === true)}, WebGPU=reference ${n((r) => r.decisionsWebgpuEqualsReference === true)}, wasm=reference ${n((r) => r.decisionsWasmEqualsReference === true)}; 16 tokens WebGPU=wasm=reference ${n((r) => !r.error && eq(r.tokens, r.wasmTokens) && eq(r.tokens, r.referenceTokens))} (wasm=reference ${n((r) => !r.error && eq(r.wasmTokens, r.referenceTokens))}); WebGPU ran ${n((r) => r.webgpuRan === true)}${q4.length ? `; visual per layer and kept sets = q4 ${q4.filter((r) => r.versusQ4).length}/${q4.length}` : ''}; errors ${runs.filter((r) => r.error).length}`,
    );
  }
log(
  `${failures ? `${failures} runs differ or failed` : 'every run: WebGPU = wasm = reference'} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
);
await webgpu.dispose();
await wasm.dispose();
process.exit(0);
