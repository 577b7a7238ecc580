/**
 * One bench run in Node, end to end: model package (generated or given), engine on Dawn,
 * every method measured, the comparisons that can be made, one BenchResult. The CLI
 * (bench/cli.ts) and harness.test.ts both call this.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, platform, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchOptions } from './args';
import { measureMethods, type Measured } from './measure';
import { measureSplitCost } from './merged';
import { ensureSyntheticPackage } from './models';
import { BENCH_QUESTION, BENCH_VIDEO_QUESTION, openNodeTarget, readBenchImage } from './nodeTarget';
import type { BenchResult, NotMeasured } from './result';
import { writeResult } from './write';

export const MEMORY_NOTE =
  'highest live bytes of all GPUBuffers (createBuffer minus destroy, counted by a hook on the WebGPU ' +
  "prototypes installed before onnxruntime made its device: weights, activations, KV caches, our kernels' buffers and " +
  "onnxruntime's buffer cache alike), per request, median over runs. onnxruntime keeps released buffers for reuse, so the " +
  'figure is what the process holds, not only what the request needs; the KV-cache column is the exact per-request need.';

/** The fixed image every method sees: the app's bundled procedural sample (scripts/make-samples.mjs). */
export function benchImagePath(): string {
  return process.env.BENCH_IMAGE ?? resolve('public/samples/shapes.png');
}

/** The video row's source when --video is not given: the 24-frame 112 px GIF of fixtures/multi. */
export function benchVideoPath(given?: string): string {
  return resolve(given ?? process.env.BENCH_VIDEO ?? 'fixtures/multi/frames.gif');
}

const PEER_GAP =
  "the transformers.js peer (@huggingface/transformers' LLaVA pipeline on the converter's transformers.js layout) is measured in the browser only (--where browser)";

export async function runNodeBench(o: BenchOptions, log: (line: string) => void = () => {}): Promise<BenchResult> {
  const model = o.model
    ? { dir: resolve(o.model), generated: false, generateMs: 0 }
    : await ensureSyntheticPackage(o.shape, o.dtype, o.cacheDir, log, !o.noMerged);
  if (model.generated) log(`generated ${model.dir} in ${(model.generateMs / 1000).toFixed(1)} s`);
  const imagePath = o.video ? benchVideoPath(o.video.path) : benchImagePath();
  // A video: its frames sampled uniformly by the CLI's reader (engine/nodeFrames.ts); the engine
  // feeds them through the package's video tower where it has one (Video-LLaVA), else each as an image.
  const video = o.video
    ? await (await import('../src/engine/nodeFrames')).readVideoFrames(imagePath, o.video.frames)
    : null;
  if (video)
    log(
      `video ${imagePath}: ${video.total} frames, fed ${video.images.length}: ${video.images.map((im) => im.frame!.index).join(', ')}`,
    );
  const images = video ? video.images : [await readBenchImage(imagePath)];
  const target = await openNodeTarget(model.dir, images, o.backend);
  log(
    `loaded ${target.model.name} in ${(target.loadMs / 1000).toFixed(1)} s on ${target.environment.adapter.backend} (${target.environment.adapter.architecture} ${target.environment.adapter.description})`,
  );
  const date = new Date().toISOString();
  const videoTower = video ? target.engine.model?.manifest.video : undefined;
  const nativeOf = async (): Promise<Record<string, unknown> | NotMeasured> => {
    if (!o.native)
      return {
        notMeasured:
          'run bench/native/torch_reference.py on the GPU machine and pass its JSON with --native (bench/gpu/run.sh does)',
      };
    return existsSync(o.native)
      ? (JSON.parse(await readFile(o.native, 'utf8')) as Record<string, unknown>)
      : { notMeasured: `the native reference wrote no ${o.native} (see the run log)` };
  };
  const assemble = (measured: Measured, merged: BenchResult['merged'], native: BenchResult['native']): BenchResult => {
    const methods = measured.rows;
    return {
      schema: 1,
      date,
      where: 'node',
      shape: o.shape,
      dtype: o.dtype,
      options: {
        runs: Math.min(...methods.map((m) => m.figures.ttftMs?.n ?? o.runs)),
        warmup: o.warmup,
        newTokens: o.newTokens,
        question: video ? BENCH_VIDEO_QUESTION : BENCH_QUESTION,
        image: imagePath.split('/').pop()!,
        ...(video
          ? {
              video: {
                frames: video.images.length,
                sourceFrames: video.total,
                indices: video.images.map((im) => im.frame!.index),
                ...(videoTower ? { tokensPerFrame: videoTower.tokensPerFrame } : {}),
              },
            }
          : {}),
      },
      environment: {
        adapter: target.environment.adapter,
        runtime: target.environment.runtime,
        host: { platform: platform(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryBytes: totalmem() },
        ...(o.machine ? { machine: o.machine } : {}),
      },
      model: { ...target.model, loadMs: target.loadMs, generatedMs: model.generateMs, layout: methods[0].layout },
      memoryNote: target.environment.gpuMemoryCounter
        ? MEMORY_NOTE
        : 'not counted: no WebGPU in this process (wasm backend)',
      methods,
      failures: measured.failures,
      merged,
      peer: { notMeasured: PEER_GAP },
      native,
    };
  };
  try {
    // With --checkpoint the files are rewritten after every round, so a run cut short by a time
    // limit (the GPU machine's) still leaves every figure measured so far.
    const checkpoint = o.checkpoint
      ? async (m: Measured) => {
          await writeResult(
            assemble(m, { notMeasured: 'run cut short before the merged-decoder comparison' }, await nativeOf()),
            o.out,
          );
        }
      : undefined;
    const measured = await measureMethods(target, o.methods, {
      runs: o.runs,
      warmup: o.warmup,
      newTokens: o.newTokens,
      onProgress: log,
      ...(o.deadlineS ? { deadlineMs: o.deadlineS * 1000 } : {}),
      ...(checkpoint ? { onRound: checkpoint } : {}),
    });
    const methods = measured.rows;
    const pastDeadline = o.deadlineS !== undefined && performance.now() > o.deadlineS * 1000;
    const merged = o.noMerged
      ? { notMeasured: 'skipped (--no-merged)' }
      : pastDeadline
        ? { notMeasured: `skipped: the --deadline of ${o.deadlineS} s had passed after the methods` }
        : await measureSplitCost(
            target.engine,
            async (p) => new Uint8Array(await readFile(join(model.dir, p))),
            {
              runs: Math.max(1, Math.min(o.runs, 3)),
              newTokens: o.newTokens,
              seqLen: methods[0].layout.preLength + methods[0].layout.visualCount + methods[0].layout.textLength,
            },
            log,
          ).catch((e: unknown) => ({
            notMeasured: `the merged-decoder comparison failed: ${e instanceof Error ? e.message : String(e)}`,
          }));
    return assemble(measured, merged, await nativeOf());
  } finally {
    await target.close();
  }
}
