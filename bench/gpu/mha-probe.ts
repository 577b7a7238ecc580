/**
 * GPU-machine check of fused prefill attention (engine/prefillAttention.ts; issue 13): one decoder
 * layer built by the converter (q4 / q4f16 as the packages; LLaVA-1.5-7B's attention: 32 heads
 * over 32 kv heads, head size 128; a small hidden and MLP size, which the rewrite does not touch),
 * lifted as the loader lifts it, run as the plain prefill graph and as the fused one (MultiHeadAttention) on the same feeds.
 * Prints, per activation dtype (f32; f16 where the adapter has shader-f16) and (S, P), the max
 * difference of each output (hidden_out, query, present_key, present_value) relative to the
 * plain output's largest value, the dispatches per run of each, and ms per run. S < 32 takes
 * onnxruntime-web's flash decode kernels, S ≥ 32 its flash prefill kernel, which steps keys by
 * min(subgroup size, 16) (wrong on SwiftShader's 4): this is where a 32-wide adapter is checked.
 *
 *   bash bench/gpu/pack.sh, then run: source .gpu/unpack.sh && bash $GPU_HOME/extra/mha-probe.sh
 *   locally: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npx tsx bench/gpu/mha-probe.ts
 * MHA_CASES="S,P;S,P" (default 18,0;64,0;82,0;590,0;18,37;64,37;82,300;590,120), MHA_ACTS=float32,float16,
 * MHA_HIDDEN (default 512). Exit code 1 when any output differs by more than the bound (f32 1e-4,
 * f16 2e-2, relative), so the call's log says WRONG and the engine's default must go off.
 */
import { setupNodeGpu } from '../../src/cli/shared/nodeGpu';
import { fusePrefillAttention } from '../../src/engine/prefillAttention';
import {
  LAYER_OUTPUTS,
  countDispatches,
  layerFeeds,
  liftedLayerGraph,
  maxDiff,
  runLayer,
  type LayerShape,
} from '../../src/engine/prefillAttention.testutil';

type Act = 'float32' | 'float16';
const BOUND: Record<Act, number> = { float32: 1e-4, float16: 2e-2 };

async function main(): Promise<void> {
  const setup = await setupNodeGpu();
  if (!setup.adapter) throw new Error(setup.reason);
  const info = (
    setup.adapter as GPUAdapter & { info?: GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number } }
  ).info;
  const features = [...setup.adapter.features].filter((f) => /subgroup|f16/.test(String(f)));
  console.log(
    `adapter: ${info?.vendor} ${info?.architecture} ${info?.description}; features ${features.join(',')}; subgroup min/max ${info?.subgroupMinSize}/${info?.subgroupMaxSize}`,
  );
  const ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const shaderF16 = setup.adapter.features.has('shader-f16');
  const acts =
    (process.env.MHA_ACTS?.split(',') as Act[] | undefined) ?? (shaderF16 ? ['float32', 'float16'] : ['float32']);
  const cases = (process.env.MHA_CASES ?? '18,0;64,0;82,0;590,0;18,37;64,37;82,300;590,120')
    .split(';')
    .map((c) => c.split(',').map(Number) as [number, number]);
  const shape: LayerShape = {
    heads: 32,
    kvHeads: 32,
    headDim: 128,
    hidden: Number(process.env.MHA_HIDDEN ?? 512),
    intermediate: 256,
  };
  const opts = { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
  let wrong = 0;
  for (const act of acts) {
    const layer = await liftedLayerGraph(shape, act === 'float16' ? 'q4f16' : 'q4'); // as the 7B packages
    const fused = fusePrefillAttention(layer.model, { numHeads: 32, numKvHeads: 32, headDim: 128 });
    if (fused.refusal !== null) throw new Error(`the rewrite refused the layer: ${fused.refusal}`);
    const plainS = await ort.InferenceSession.create(layer.model, opts);
    const fusedS = await ort.InferenceSession.create(fused.model, opts);
    console.log(
      `\n${act === 'float16' ? 'q4f16' : 'q4'} (${act}), H32/hd128, hidden ${shape.hidden}: bound ${BOUND[act]} relative`,
    );
    for (const [S, P] of cases) {
      const feeds = () => layerFeeds(ort, layer.dims, layer.weights, act, S, P);
      await runLayer(plainS, feeds());
      await runLayer(fusedS, feeds());
      const a = await countDispatches(() => runLayer(plainS, feeds()));
      const b = await countDispatches(() => runLayer(fusedS, feeds()));
      const ms = async (s: typeof plainS) => {
        const f = feeds();
        const t = performance.now();
        for (let i = 0; i < 10; i++) await runLayer(s, f);
        return (performance.now() - t) / 10;
      };
      const [msPlain, msFused] = [await ms(plainS), await ms(fusedS)];
      const parts: string[] = [];
      let bad = false;
      for (const k of LAYER_OUTPUTS) {
        const scale = a.result[k].reduce((m, x) => Math.max(m, Math.abs(x)), 1e-30);
        const rel = maxDiff(a.result[k], b.result[k]) / scale;
        if (!(rel <= BOUND[act])) bad = true;
        parts.push(`${k} ${rel.toExponential(1)}`);
      }
      if (bad) wrong += 1;
      console.log(
        `  S ${String(S).padStart(3)} P ${String(P).padStart(3)} ${S < 32 ? '(decode kernels)' : '(flash prefill)'}: ${bad ? 'WRONG' : 'ok'}; max diff / max |plain|: ${parts.join(', ')}; dispatches ${a.dispatches} -> ${b.dispatches}; ms per run (10, read back) ${msPlain.toFixed(2)} -> ${msFused.toFixed(2)}`,
      );
    }
    await plainS.release();
    await fusedS.release();
  }
  console.log(
    wrong
      ? `\nmha-probe: ${wrong} case(s) WRONG: keep SVLM_FUSED_ATTENTION=0 on this adapter`
      : '\nmha-probe: all cases within bounds',
  );
  process.exit(wrong ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
