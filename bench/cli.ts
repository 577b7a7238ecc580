/**
 * npm run bench -- [--where browser|node] [--shape tiny|small|llava-1.5-7b|video-llava-7b] [--dtype q4|q4f16|fp16]
 *   [--methods none,sparsevlm:192,…] [--runs N] [--warmup N] [--tokens N] [--out bench/results]
 *   [--frames N [--video <folder|file.gif>]]   (a video question: N frames, each an image or through a video tower; Node only)
 *
 * Measures every method side by side in one process and writes
 * <out>/<date>-<where>-<shape>.{json,md,svg} (bench/README in the project README's Benchmarks
 * section says what each figure is). Progress goes to stderr.
 */
import { BenchArgError, parseBenchArgs, USAGE } from './args';
import { writeResult } from './write';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = parseBenchArgs(argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (o.prepareOnly) {
    // The GPU run generates the 7B package while the PyTorch reference runs (bench/gpu/run.sh).
    const { ensureSyntheticPackage } = await import('./models');
    const m = await ensureSyntheticPackage(o.shape, o.dtype, o.cacheDir, log, !o.noMerged);
    log(m.generated ? `generated ${m.dir} in ${(m.generateMs / 1000).toFixed(1)} s` : `found ${m.dir}`);
    process.stdout.write(`${m.dir}\n`);
    return 0;
  }
  const result =
    o.where === 'node'
      ? await (await import('./run')).runNodeBench(o, log)
      : await (await import('./browser')).runBrowserBench(o, log);
  const paths = await writeResult(result, o.out);
  process.stdout.write(`${paths.json}\n${paths.md}\n${paths.svg}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const msg = e instanceof BenchArgError ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`bench: ${msg}\n`);
    if (process.env.BENCH_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
