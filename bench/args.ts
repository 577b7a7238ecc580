/**
 * Bench options: the CLI's flags, parsed without side effects so tests and the browser page
 * share them. Method specs read as src/eval/methods.ts reads them (name[:budget][+param=value…]).
 */
import { parseArgs } from 'node:util';
import {
  type MethodSpec,
  MethodSpecError,
  parseMethodList,
  parseMethodSpec as parseEvalMethodSpec,
} from '../src/eval/methods';

export type { MethodSpec };

export type Where = 'browser' | 'node';
export type BenchDtype = 'q4' | 'q4f16' | 'fp16';
export const SHAPES = ['tiny', 'small', 'llava-1.5-7b', 'video-llava-7b'] as const;
export type BenchShape = (typeof SHAPES)[number];

export const DEFAULT_METHODS = 'none,sparsevlm:192,sparsevlm:128,sparsevlm:64,fastv:64,pdrop:64,divprune:64';

export interface BenchOptions {
  where: Where;
  shape: BenchShape;
  dtype: BenchDtype;
  methods: MethodSpec[];
  runs: number;
  warmup: number;
  /** Decode steps forced after the first token (64 in the issue). */
  newTokens: number;
  out: string;
  /** Where synthetic packages are cached (git-ignored). */
  cacheDir: string;
  /** Package folder to use instead of a generated one. */
  model?: string;
  /** Skip the merged-decoder comparison. */
  noMerged: boolean;
  /** Browser only: skip the transformers.js peer. */
  noPeer: boolean;
  /** torch_reference.py's JSON from the same machine, folded into the result. */
  native?: string;
  /** One line describing the machine (nvidia-smi), recorded as is. */
  machine?: string;
  /** Node only: 'wasm' runs the engine on onnxruntime's CPU backend and the CPU prune backend. */
  backend: 'webgpu' | 'wasm';
  /** False when --backend was not given: the browser bench then uses wasm on a software WebGPU adapter (browser.ts says why). */
  backendExplicit: boolean;
  /** Seconds since the process started after which no new measuring round starts. */
  deadlineS?: number;
  /** Rewrite the three result files after every measured round (partial results survive a kill). */
  checkpoint: boolean;
  /** Generate (or find) the synthetic package, print its folder, and stop. */
  prepareOnly: boolean;
  /**
   * A video question instead of the one image: `frames` frames sampled uniformly from `video`
   * (a frame folder or an animated GIF/WebP, read by the CLI's reader, engine/nodeFrames.ts),
   * each fed as an image in prompt order, or as one `<video>` through a Video-LLaVA package's video
   * tower (video-llava-7b). Without a path: $BENCH_VIDEO, else fixtures/multi/frames.gif.
   */
  video?: { path?: string; frames: number };
}

export class BenchArgError extends Error {
  constructor(
    readonly flag: string,
    readonly value: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
    this.name = 'BenchArgError';
  }
}

/** The method-spec grammar of src/eval/methods.ts, its error as a BenchArgError naming --methods. */
function asBenchArgError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof MethodSpecError)) throw err;
    throw new BenchArgError(
      '--methods',
      err.spec,
      `"${err.spec}" is not name, name:budget or either with +param=value`,
    );
  }
}

export const parseMethodSpec = (spec: string): MethodSpec => asBenchArgError(() => parseEvalMethodSpec(spec));

/** `none` always runs (every ratio is against it) and comes first. */
export const parseMethods = (list: string): MethodSpec[] => asBenchArgError(() => parseMethodList(list));

const positiveInt = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new BenchArgError(flag, v, `"${v}" is not an integer ≥ ${min}`);
  return n;
};

export const USAGE =
  `usage: npm run bench -- [--where browser|node] [--shape ${SHAPES.join('|')}] [--dtype q4|q4f16|fp16] ` +
  `[--methods ${DEFAULT_METHODS}] [--runs N] [--warmup N] [--tokens N] [--out bench/results] [--cache .cache/bench] [--model <package dir>] [--no-merged] [--no-peer] [--native <torch json>] [--machine <text>] [--deadline <s>] [--backend webgpu|wasm] [--checkpoint] [--prepare-only] [--frames N [--video <folder|file.gif>]]`;

const VALUE_FLAGS = [
  'where',
  'shape',
  'dtype',
  'methods',
  'runs',
  'warmup',
  'tokens',
  'out',
  'cache',
  'model',
  'native',
  'machine',
  'deadline',
  'backend',
  'frames',
  'video',
] as const;
const SWITCHES = ['no-merged', 'no-peer', 'checkpoint', 'prepare-only'] as const;

/**
 * The flags as `--name` → value ('true' for a switch), read by node:util's parseArgs (strict:
 * an unknown flag, a stray word or a flag without its value is refused as a BenchArgError).
 */
function readFlags(argv: string[]): Map<string, string> {
  const options = Object.fromEntries([
    ...VALUE_FLAGS.map((name) => [name, { type: 'string' as const }]),
    ...SWITCHES.map((name) => [name, { type: 'boolean' as const }]),
  ]);
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const named = /'(-[^' ]+)/.exec(message)?.[1] ?? argv.find((arg) => !arg.startsWith('--')) ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new BenchArgError(named, named, `unknown flag. ${USAGE}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new BenchArgError(named, named, `unexpected argument. ${USAGE}`);
    throw new BenchArgError(named, '', `${message}. ${USAGE}`);
  }
  const flags = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) flags.set(`--${name}`, String(value));
  return flags;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const flags = readFlags(argv);
  const where = flags.get('--where') ?? 'node';
  if (where !== 'node' && where !== 'browser') throw new BenchArgError('--where', where, 'must be browser or node');
  const shape = flags.get('--shape') ?? 'tiny';
  if (!(SHAPES as readonly string[]).includes(shape))
    throw new BenchArgError('--shape', shape, `must be one of ${SHAPES.join(', ')}`);
  const dtype = flags.get('--dtype') ?? 'q4';
  if (!['q4', 'q4f16', 'fp16'].includes(dtype)) throw new BenchArgError('--dtype', dtype, 'must be q4, q4f16 or fp16');
  if (flags.has('--frames') && where === 'browser')
    throw new BenchArgError('--frames', flags.get('--frames')!, 'the video row runs in Node only (--where node)');
  if (flags.has('--video') && !flags.has('--frames'))
    throw new BenchArgError('--video', flags.get('--video')!, 'give --frames N with it (frames fed per question)');
  const backend = flags.get('--backend') ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'wasm')
    throw new BenchArgError('--backend', backend, 'must be webgpu or wasm');
  return {
    where,
    backend,
    backendExplicit: flags.has('--backend'),
    shape: shape as BenchShape,
    dtype: dtype as BenchDtype,
    methods: parseMethods(flags.get('--methods') ?? DEFAULT_METHODS),
    // The browser run also loads the peer and the merged decoder; 2 rounds keep
    // `--where browser --shape small` under 10 minutes on a 2-core CPU machine (issue 6).
    runs: positiveInt('--runs', flags.get('--runs') ?? (where === 'browser' ? '2' : '5'), 1),
    warmup: positiveInt('--warmup', flags.get('--warmup') ?? '1', 0),
    newTokens: positiveInt('--tokens', flags.get('--tokens') ?? '64', 2),
    out: flags.get('--out') ?? 'bench/results',
    cacheDir: flags.get('--cache') ?? '.cache/bench',
    ...(flags.has('--model') ? { model: flags.get('--model')! } : {}),
    noMerged: flags.get('--no-merged') === 'true',
    noPeer: flags.get('--no-peer') === 'true',
    checkpoint: flags.get('--checkpoint') === 'true',
    prepareOnly: flags.get('--prepare-only') === 'true',
    ...(flags.has('--native') ? { native: flags.get('--native')! } : {}),
    ...(flags.has('--machine') ? { machine: flags.get('--machine')! } : {}),
    ...(flags.has('--deadline') ? { deadlineS: positiveInt('--deadline', flags.get('--deadline')!, 1) } : {}),
    ...(flags.has('--frames')
      ? {
          video: {
            ...(flags.has('--video') ? { path: flags.get('--video')! } : {}),
            frames: positiveInt('--frames', flags.get('--frames')!, 1),
          },
        }
      : {}),
  };
}
