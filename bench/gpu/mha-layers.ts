/**
 * Fused prefill attention (engine/prefillAttention.ts) layer by layer on a real package (issue 13):
 * every decoder layer of `MHA_PACKAGE` lifted and set to the tuning's MatMulNBits accuracy as the
 * loader does, run as the plain prefill graph and as the fused one at S rows (P = 0, the causal
 * bias) on WebGPU. mha-probe.ts checks the op on one small random layer; this checks it where
 * the end-to-end numbers come from, and separates a wrong kernel from amplification:
 *
 * - `update`: each layer's own error, both graphs fed the plain chain's input; the difference of
 *   the layers' updates (hidden_out − hidden) relative to the largest plain update (the residual
 *   stream is left out, so an attention error is not hidden under it).
 * - `chain`: the fused chain's hidden against the plain chain's after the layer (each fed its own
 *   previous output): how the per-layer differences grow through the stack.
 * - layer 0 also on onnxruntime's wasm EP (CPU; its MultiHeadAttention and plain ops), when
 *   MHA_WASM=1: which of the two WebGPU graphs is the right one.
 *
 *   node mha-layers.mjs   (MHA_PACKAGE=<dir> MHA_S=590 MHA_ACCURACY=4 (-1: the package's) MHA_WASM=1 MHA_LAYERS_MAX=n)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupNodeGpu } from '../../src/cli/shared/nodeGpu';
import { fusePrefillAttention } from '../../src/engine/prefillAttention';
import { liftWeights } from '../../src/engine/graphRewrite';
import { setMatMulAccuracy, type MatMulAccuracy } from '../../src/onnx/matmulAccuracy';
import { externalDataOf, type Manifest } from '../../src/package/manifest';
import { layerFeeds, maxDiff, runLayer, seeded } from '../../src/engine/prefillAttention.testutil';
import { f32ToF16 } from '../../src/common/float16';

const dir = process.env.MHA_PACKAGE ?? '';
const S = Number(process.env.MHA_S ?? 590);
const accuracy = process.env.MHA_ACCURACY === undefined ? 4 : Number(process.env.MHA_ACCURACY);
const layersMax = Number(process.env.MHA_LAYERS_MAX ?? Infinity);

const absMax = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-30);
const sub = (a: Float32Array, b: Float32Array) => a.map((x, i) => x - b[i]);
const rel = (a: Float32Array, b: Float32Array) => maxDiff(a, b) / absMax(a);

async function main(): Promise<void> {
  if (!dir) throw new Error('MHA_PACKAGE=<package dir> is required');
  const setup = await setupNodeGpu();
  if (!setup.adapter) throw new Error(setup.reason);
  const ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const dims = manifest.text;
  const act = manifest.activationDtype === 'float16' ? 'float16' : 'float32';
  console.log(
    `${manifest.name} ${manifest.dtype} (${act}): ${dims.numLayers} layers, H ${dims.numHeads}/${dims.numKvHeads}, hd ${dims.headDim}, D ${dims.hiddenSize}; S ${S}, P 0, MatMulNBits accuracy ${accuracy}`,
  );
  const webgpu = {
    executionProviders: ['webgpu'],
    graphOptimizationLevel: 'all' as const,
    logSeverityLevel: 3 as const,
  };
  const wasm = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
  // std 0.02 rows, as the synthetic embeddings.
  let plainH: Float32Array = seeded(S * dims.hiddenSize, 1, 0.02 * Math.sqrt(3));
  let fusedH: Float32Array = plainH.slice();
  const feedsAt = (weights: Parameters<typeof layerFeeds>[2], h: Float32Array) => {
    const f = layerFeeds(ort, dims as Parameters<typeof layerFeeds>[1], weights, act, S, 0); // reads D, kv heads, hd
    f.hidden =
      act === 'float16'
        ? new ort.Tensor('float16', f32ToF16(h), [1, S, dims.hiddenSize])
        : new ort.Tensor('float32', h, [1, S, dims.hiddenSize]);
    return f;
  };
  let worst = 0;
  for (const [i, path] of manifest.graphs.layers.entries()) {
    if (i >= layersMax) break;
    let model: Uint8Array = new Uint8Array(readFileSync(join(dir, path)));
    if (accuracy >= 0) model = setMatMulAccuracy(model, accuracy as MatMulAccuracy).model;
    const files = new Map<string, Uint8Array>();
    for (const d of externalDataOf(manifest, path))
      files.set(d.path.split('/').pop()!, new Uint8Array(readFileSync(join(dir, d.path))));
    const lifted = liftWeights(path, model, files);
    const fused = fusePrefillAttention(lifted.model, dims);
    if (fused.refusal !== null) throw new Error(`${path}: the rewrite refused: ${fused.refusal}`);
    const plainS = await ort.InferenceSession.create(lifted.model, webgpu);
    const fusedS = await ort.InferenceSession.create(fused.model, webgpu);
    const a = (await runLayer(plainS, feedsAt(lifted.weights, plainH))).hidden_out;
    const b = (await runLayer(fusedS, feedsAt(lifted.weights, plainH))).hidden_out;
    const c = (await runLayer(fusedS, feedsAt(lifted.weights, fusedH))).hidden_out;
    const update = rel(sub(a, plainH), sub(b, plainH));
    worst = Math.max(worst, update);
    let line = `layer ${String(i).padStart(2)}: update ${update.toExponential(2)}, chain ${rel(a, c).toExponential(2)}, |h| max ${absMax(a).toPrecision(3)}`;
    if (i === 0 && process.env.MHA_WASM === '1') {
      const ref = async (m: Uint8Array) => {
        const s = await ort.InferenceSession.create(m, wasm);
        const t = performance.now();
        const out = (await runLayer(s, feedsAt(lifted.weights, plainH))).hidden_out;
        await s.release();
        return { out, ms: performance.now() - t };
      };
      const wPlain = await ref(lifted.model);
      const wFused = await ref(fused.model);
      const u = sub(wPlain.out, plainH);
      line += `; wasm (${(wPlain.ms / 1000).toFixed(0)} s a run): webgpu plain ${rel(u, sub(a, plainH)).toExponential(2)}, webgpu fused ${rel(u, sub(b, plainH)).toExponential(2)}, wasm fused ${rel(u, sub(wFused.out, plainH)).toExponential(2)}`;
    }
    console.log(line);
    await plainS.release();
    await fusedS.release();
    plainH = a;
    fusedH = c;
  }
  console.log(`mha-layers: worst per-layer update difference ${worst.toExponential(2)}`);
  process.exit(0); // Dawn's device keeps Node's loop alive
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
