/**
 * npm run vlm -- --model <dir> --image <file> --question <text> [--max-new-tokens N]
 *   [--method <name> --budget N --<param> v …] [--temperature t --top-p p --seed s]
 *   [--backend webgpu|wasm] [--json]
 *
 * Prints the answer, or with --json one JSON object: text, inputIds, tokenIds,
 * firstStepTopLogits (top 10 id + value), trace. Errors are one sentence on stderr, exit 1.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { preferQuickWasmCompile, releaseNodeGpu, setupNodeGpu } from './shared/nodeGpu';
import { isEngineError } from '../engine/errors';

const USAGE = 'usage: npm run vlm -- --model <dir> --image <file> --question <text> [--max-new-tokens N] [--method name --budget N --<param> v] [--temperature t] [--top-p p] [--seed s] [--backend webgpu|wasm] [--json]';
const OWN = new Set(['model', 'image', 'question', 'max-new-tokens', 'method', 'budget', 'backend', 'json', 'temperature', 'top-p', 'seed']);

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}". ${USAGE}`);
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(key, 'true');
    else { out.set(key, next); i++; }
  }
  return out;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const model = args.get('model');
  const image = args.get('image');
  const question = args.get('question');
  if (!model || !image || question === undefined) { process.stderr.write(`${USAGE}\n`); return 2; }
  const json = args.get('json') === 'true';
  const log = (s: string) => { if (!json) process.stderr.write(`${s}\n`); };
  const backendArg = args.get('backend') ?? 'webgpu';
  if (backendArg !== 'webgpu' && backendArg !== 'wasm') throw new Error(`--backend must be webgpu or wasm, not "${backendArg}".`);

  preferQuickWasmCompile(); // see nodeGpu.ts: Turbofan tier-up of ORT's wasm costs minutes here
  let noGpuReason: string | undefined;
  if (backendArg === 'webgpu') {
    const gpu = await setupNodeGpu();
    if (!gpu.adapter) { noGpuReason = gpu.reason; process.stderr.write(`No WebGPU adapter: ${gpu.reason}. Falling back to the wasm backend (slow).\n`); }
    else log(`WebGPU: ${gpu.reason}`);
  }
  const { Engine } = await import('../engine/engine');
  const { dirReader } = await import('../engine/nodeSource');
  const engine = await Engine.create({ preferBackend: backendArg, noGpuReason });
  log(`backend: ${engine.adapter.backend}${engine.adapter.architecture ? ` (${engine.adapter.architecture})` : ''}`);
  const info = await engine.load(dirReader(model), (p) => {
    if (!json && p.phase !== 'download') process.stderr.write(`\r${p.phase} ${p.file ?? ''} (${p.filesDone}/${p.filesTotal} files)`.padEnd(80));
  });
  log(`\nloaded ${info.name} (${info.numLayers} layers, ${info.dtype})`);
  const params: Record<string, string> = {};
  for (const [k, v] of args) if (!OWN.has(k)) params[k] = v;
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(readFileSync(image)); } catch { throw new Error(`cannot read the image file ${image}.`); }
  const result = await engine.generate({
    image: { bytes, name: basename(image) },
    question,
    settings: { method: args.get('method') ?? 'none', budget: args.has('budget') ? Number(args.get('budget')) : undefined, params },
    options: {
      maxNewTokens: Number(args.get('max-new-tokens') ?? 64),
      temperature: Number(args.get('temperature') ?? 0),
      topP: Number(args.get('top-p') ?? 1),
      seed: Number(args.get('seed') ?? 0),
    },
    onToken: json ? undefined : (_id, text) => process.stdout.write(text),
  });
  if (json) {
    process.stdout.write(`${JSON.stringify({ text: result.text, inputIds: result.inputIds, tokenIds: result.tokenIds, firstStepTopLogits: result.firstStepTopLogits, trace: result.trace })}\n`);
  } else {
    process.stdout.write('\n');
    const t = result.trace.timings;
    log(`prefill ${t.prefillMs.toFixed(0)} ms, ${t.decodeStepMs.length} decode steps, total ${t.totalMs.toFixed(0)} ms (${t.clock} clock)`);
  }
  await engine.dispose();
  releaseNodeGpu();
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  // One sentence, never a bare stack trace; VLM_DEBUG=1 shows the stack.
  const msg = isEngineError(e) ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`vlm: ${msg}\n`);
  if (process.env.VLM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
