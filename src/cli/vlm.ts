/**
 * npm run vlm -- --model <dir> (--image <file> [--image <file> …] | --video <folder|file.gif> [--frames N])
 *   --question <text> [--follow-up <text> …] [--follow-up-mode reuse-cache|prefill-again] [--max-new-tokens N]
 *   [--method <name> --budget N --<param> v …] [--temperature t --top-p p --seed s]
 *   [--backend webgpu|wasm] [--json]
 *
 * Prints the answer, or with --json one JSON object: text, inputIds, tokenIds,
 * firstStepTopLogits (top 10 id + value), trace — of the first question — and with
 * --follow-up also `turns`: one object of those same fields (plus `question`) per turn, the
 * first included. Errors are one sentence on stderr, exit 1.
 *
 * Each --follow-up is asked after the previous answer, in the order given, as the next turn of
 * one conversation: the engine keeps the KV caches and prefills only the new turn's tokens
 * (docs/ARCHITECTURE.md, "Follow-up questions"; --follow-up-mode prefill-again prunes the whole
 * conversation again instead).
 *
 * Several --image files go into one question, first in the user turn in the order given. A
 * --video is a folder of frame images (sorted by name) or an animated GIF/WebP, sampled
 * uniformly to --frames frames (default 8), each fed as an image (as one <video> through its
 * video tower for a Video-LLaVA package).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { preferQuickWasmCompile, releaseNodeGpu, setupNodeGpu } from './shared/nodeGpu';
import { readImageHeader } from '../engine/imageHeader';
import type { RequestImage } from '../engine/engine';
import { checkFrameCount, DEFAULT_FRAMES, visualTokensFit } from '../engine/frames';
import type { Manifest } from '../package/manifest';
import { checkGenerateOptions } from '../engine/options';
import { checkFollowUpMode } from '../engine/conversation';
import type { FollowUpMode } from '../engine/protocol';
import { resolveParams } from '../prune/params';
import { knownMethods } from '../prune/registry';
import { isEngineError } from '../common/errors';

const USAGE =
  'usage: npm run vlm -- --model <dir> (--image <file> [--image <file> ...] | --video <folder|file.gif> [--frames N]) --question <text> [--follow-up <text> ...] [--follow-up-mode reuse-cache|prefill-again] [--max-new-tokens N] [--method name --budget N --<param> v] [--temperature t] [--top-p p] [--seed s] [--backend webgpu|wasm] [--json]';
const OWN = new Set([
  'model',
  'image',
  'video',
  'frames',
  'question',
  'follow-up',
  'follow-up-mode',
  'max-new-tokens',
  'method',
  'budget',
  'backend',
  'json',
  'temperature',
  'top-p',
  'seed',
]);

/** Options by name (the last one wins), and every --image and --follow-up in the order given. */
function parseArgs(argv: string[]): { args: Map<string, string>; images: string[]; followUps: string[] } {
  const out = new Map<string, string>();
  const images: string[] = [];
  const followUps: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}". ${USAGE}`);
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(key, 'true');
    else {
      out.set(key, next);
      i++;
    }
    if (key === 'image') images.push(out.get(key)!);
    if (key === 'follow-up') followUps.push(out.get(key)!);
  }
  return { args: out, images, followUps };
}

/** A number option as typed; a clear sentence for what is not one. */
function numberArg(args: Map<string, string>, key: string, fallback: number): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`--${key} must be a number, not "${raw}".`);
  return value;
}

/**
 * Everything that can be checked without the model, checked before loading it (a 7B package
 * takes minutes to load): the package folder, the image file and its header, the question,
 * the method and its parameters, the generation options.
 */
async function checkRequest(
  args: Map<string, string>,
  model: string,
  imagePaths: string[],
  question: string,
  followUps: string[],
) {
  if (!existsSync(join(model, 'manifest.json'))) {
    throw new Error(
      existsSync(model)
        ? `${model} has no manifest.json: --model must be a model package folder (npm run convert makes one).`
        : `the model folder ${model} does not exist.`,
    );
  }
  const images: RequestImage[] = [];
  for (const image of imagePaths) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(image));
    } catch {
      throw new Error(`cannot read the image file ${image}.`);
    }
    readImageHeader(bytes, basename(image)); // throws a sentence for a non-image, a damaged header or a huge image
    images.push({ bytes, name: basename(image) });
  }
  if (question.trim() === '' || question === 'true')
    throw new Error('--question needs the question text, e.g. --question "What is in the picture?".');
  for (const [i, q] of followUps.entries())
    if (q.trim() === '' || q === 'true')
      throw new Error(`--follow-up ${i + 1} needs the question text, e.g. --follow-up "And what colour is it?".`);
  const followUpMode = args.get('follow-up-mode');
  if (followUpMode !== undefined && followUps.length === 0)
    throw new Error('--follow-up-mode says how a --follow-up continues; give --follow-up <text> with it.');
  const method = args.get('method') ?? 'none';
  if (!knownMethods().includes(method))
    throw new Error(`unknown --method "${method}"; known: ${knownMethods().join(', ')}.`);
  const params: Record<string, string> = {};
  for (const [k, v] of args) if (!OWN.has(k)) params[k] = v;
  resolveParams(method, params); // throws ParamError naming the parameter and its range
  const budget = args.has('budget') ? numberArg(args, 'budget', 0) : undefined;
  if (budget !== undefined && (!Number.isInteger(budget) || budget < 1))
    throw new Error(`--budget must be a whole number of visual tokens (e.g. 64), not "${args.get('budget')}".`);
  const options = {
    maxNewTokens: numberArg(args, 'max-new-tokens', 64),
    temperature: numberArg(args, 'temperature', 0),
    topP: numberArg(args, 'top-p', 1),
    seed: numberArg(args, 'seed', 0),
    ...(followUpMode !== undefined ? { followUp: followUpMode as FollowUpMode } : {}),
  };
  try {
    checkFollowUpMode(options.followUp);
  } catch {
    throw new Error(`--follow-up-mode must be reuse-cache or prefill-again, not "${followUpMode}".`);
  }
  checkGenerateOptions(options, {
    maxNewTokens: '--max-new-tokens',
    temperature: '--temperature',
    topP: '--top-p',
    seed: '--seed',
  });
  let video: { path: string; total: number } | null = null;
  const videoPath = args.get('video');
  if (videoPath !== undefined) {
    // Frames × tokens against the context from the manifest alone (the engine checks again, exactly, with the prompt's text).
    const frames = checkFrameCount(numberArg(args, 'frames', DEFAULT_FRAMES), '--frames');
    const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as Partial<Manifest>;
    // (A manifest without these fields is refused by the loader, with its own message.)
    if (typeof manifest.vision?.visualTokens === 'number' && typeof manifest.text?.maxPositions === 'number') {
      visualTokensFit(
        { vision: manifest.vision, video: manifest.video, text: manifest.text },
        frames,
        options.maxNewTokens,
        'frame',
      );
    }
    const { readVideoFrames } = await import('../engine/nodeFrames');
    const read = await readVideoFrames(videoPath, frames);
    images.push(...read.images);
    video = { path: videoPath, total: read.total };
  }
  return { images, video, settings: { method, budget, params }, options };
}

async function main(): Promise<number> {
  const { args, images, followUps } = parseArgs(process.argv.slice(2));
  const model = args.get('model');
  const question = args.get('question');
  if (!model || (images.length === 0 && !args.has('video')) || question === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (images.length > 0 && args.has('video')) {
    throw new Error("give --image files or one --video, not both: a video's frames are the images of its question.");
  }
  if (args.has('frames') && !args.has('video'))
    throw new Error('--frames samples a --video; give --video <folder|file.gif> with it.');
  const json = args.get('json') === 'true';
  const log = (s: string) => {
    if (!json) process.stderr.write(`${s}\n`);
  };
  const backendArg = args.get('backend') ?? 'webgpu';
  if (backendArg !== 'webgpu' && backendArg !== 'wasm')
    throw new Error(`--backend must be webgpu or wasm, not "${backendArg}".`);
  const request = await checkRequest(args, model, images, question, followUps);

  preferQuickWasmCompile(); // see nodeGpu.ts: Turbofan tier-up of ORT's wasm costs minutes here
  let noGpuReason: string | undefined;
  if (backendArg === 'webgpu') {
    const gpu = await setupNodeGpu();
    if (!gpu.adapter) {
      noGpuReason = gpu.reason;
      process.stderr.write(`No WebGPU adapter: ${gpu.reason}. Falling back to the wasm backend (slow).\n`);
    } else log(`WebGPU: ${gpu.reason}`);
  }
  const { Engine } = await import('../engine/engine');
  const { dirReader } = await import('../package/nodeSource');
  const engine = await Engine.create({ preferBackend: backendArg, noGpuReason });
  log(`backend: ${engine.adapter.backend}${engine.adapter.architecture ? ` (${engine.adapter.architecture})` : ''}`);
  const info = await engine.load(dirReader(model), (p) => {
    if (!json && p.phase !== 'download')
      process.stderr.write(`\r${p.phase} ${p.file ?? ''} (${p.filesDone}/${p.filesTotal} files)`.padEnd(80));
  });
  log(`\nloaded ${info.name} (${info.numLayers} layers, ${info.dtype})`);
  if (request.video)
    log(
      `video ${request.video.path}: ${request.video.total} frames, fed ${request.images.length}: ${request.images.map((im) => im.frame!.index).join(', ')}`,
    );
  const questions = [question, ...followUps];
  const turns: Record<string, unknown>[] = [];
  let conversation: string | undefined;
  for (const [i, q] of questions.entries()) {
    if (i > 0 && !json) process.stdout.write(`\n> ${q}\n`);
    let printed = '';
    const result = await engine.generate({
      ...(i === 0 ? { images: request.images } : { conversation }),
      question: q,
      // The last turn keeps nothing: its caches would only be disposed with the engine.
      keepConversation: i < questions.length - 1,
      settings: request.settings,
      options: request.options,
      onToken: json
        ? undefined
        : (_id, text) => {
            printed += text;
            process.stdout.write(text);
          },
    });
    conversation = result.conversation?.id;
    turns.push({
      question: q,
      text: result.text,
      inputIds: result.inputIds,
      tokenIds: result.tokenIds,
      firstStepTopLogits: result.firstStepTopLogits,
      trace: result.trace,
    });
    if (!json) {
      // The stream holds back what a later token could still change (trailing spaces); the rest is here.
      process.stdout.write(
        `${result.text.startsWith(printed) ? result.text.slice(printed.length) : `\n${result.text}`}\n`,
      );
      const t = result.trace.timings;
      const f = result.trace.followUp;
      log(
        `prefill ${t.prefillMs.toFixed(0)} ms${f ? (f.cache === 'reused' ? ` (follow-up: ${f.newTokens} new tokens on ${f.reusedTokens} kept)` : ` (follow-up prefilled whole: ${f.reason})`) : ''}, ${t.decodeStepMs.length} decode steps, total ${t.totalMs.toFixed(0)} ms (${t.clock} clock)`,
      );
    }
  }
  if (json) {
    const { question: _q, ...first } = turns[0];
    process.stdout.write(`${JSON.stringify({ ...first, ...(followUps.length > 0 ? { turns } : {}) })}\n`);
  }
  await engine.dispose();
  releaseNodeGpu();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // One sentence, never a bare stack trace; VLM_DEBUG=1 shows the stack.
    const msg = isEngineError(e) ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`vlm: ${msg}\n`);
    if (process.env.VLM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
