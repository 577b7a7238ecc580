/**
 * Synthetic model packages for the bench, made on first use and cached (git-ignored
 * `.cache/bench/<shape>-<dtype>/`). Same generator and converter as `npm run make-synthetic
 * -- --format package` (seed 0), called in-process so the esbuild bundle carries it to the
 * GPU machine, where the 7B-shaped package (≈4 GB in q4) is generated rather than carried.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { convertCheckpoint } from '../src/convert/convert';
import { DirSink } from '../src/package/nodeSink';
import {
  DEFAULT_TOKENIZER_FIXTURE,
  SyntheticCheckpoint,
  syntheticTokenizerFixture,
} from '../src/convert/synthetic/synthetic';
import type { BenchDtype, BenchShape } from './args';

/**
 * The fixture tokenizer a synthetic shape carries (make-synthetic.ts reads the same files):
 * open-llava15-deep's ($BENCH_TOKENIZER_DIR on the GPU machine), or the one the shape names
 * (video-llava-7b: fixtures/videollava-clip-112's, with `<video>`; bench/gpu/pack.sh carries it
 * under fixtures/, which the GPU machine's working folder holds too).
 */
export function tokenizerDir(shape: BenchShape): string {
  const fixture = syntheticTokenizerFixture(shape);
  if (fixture === DEFAULT_TOKENIZER_FIXTURE)
    return process.env.BENCH_TOKENIZER_DIR ?? resolve('fixtures', DEFAULT_TOKENIZER_FIXTURE);
  return resolve('fixtures', fixture);
}

async function loadTokenizer(dir: string) {
  return {
    tokenizerJson: new Uint8Array(await readFile(join(dir, 'tokenizer.json'))),
    tokenizerConfigJson: new Uint8Array(await readFile(join(dir, 'tokenizer_config.json'))),
    chatTemplate: await readFile(join(dir, 'chat_template.jinja'), 'utf8'),
  };
}

export interface PreparedModel {
  dir: string;
  /** True when this call generated it (its time is reported, not counted in any figure). */
  generated: boolean;
  generateMs: number;
}

export async function ensureSyntheticPackage(
  shape: BenchShape,
  dtype: BenchDtype,
  cacheDir: string,
  log: (line: string) => void = () => {},
  mergedDecoder = false,
): Promise<PreparedModel> {
  const dir = resolve(cacheDir, `${shape}-${dtype}${mergedDecoder ? '-merged' : ''}`);
  const ckpt = new SyntheticCheckpoint(shape, await loadTokenizer(tokenizerDir(shape)), 0);
  if (existsSync(join(dir, 'manifest.json'))) {
    // A package made from an older definition of the shape (video-llava-7b fed frames as images
    // until 2026-12-02) is made again: its config.json is the shape's as it was then.
    const cached = await readFile(join(dir, 'config.json')).catch(() => null);
    if (cached && Buffer.from(ckpt.files['config.json']).equals(cached))
      return { dir, generated: false, generateMs: 0 };
    log(`${dir} was made from an older ${shape} shape (its config.json differs): generating it again`);
  }
  const t0 = performance.now();
  const sink = new DirSink(dir);
  let lastLogged = -1;
  await convertCheckpoint(ckpt, {
    dtype,
    sink,
    mergedDecoder,
    onProgress: (p) => {
      if (p.graphsDone !== lastLogged) {
        lastLogged = p.graphsDone;
        log(`generating ${shape} ${dtype}: ${p.graphsDone}/${p.graphsTotal} graphs (${p.path})`);
      }
    },
  });
  return { dir, generated: true, generateMs: performance.now() - t0 };
}

/**
 * The same synthetic weights (seed 0) in @huggingface/transformers' ONNX layout, for the
 * browser peer: `<cacheDir>/<shape>-<dtype>-tjs/model/` (transformers.js resolves
 * `<localModelPath>/<id>/…`, so the folder served is the parent and the id is `model`).
 */
export async function ensureTransformersJsPackage(
  shape: BenchShape,
  dtype: BenchDtype,
  cacheDir: string,
  log: (line: string) => void = () => {},
): Promise<PreparedModel> {
  const dir = resolve(cacheDir, `${shape}-${dtype}-tjs`);
  if (existsSync(join(dir, 'model', 'config.json'))) return { dir, generated: false, generateMs: 0 };
  const { convertToTransformersJs } = await import('../src/convert/transformersjs');
  const t0 = performance.now();
  const ckpt = new SyntheticCheckpoint(shape, await loadTokenizer(tokenizerDir(shape)), 0);
  log(`generating ${shape} ${dtype} in the transformers.js layout`);
  await convertToTransformersJs(ckpt, { dtype, sink: new DirSink(join(dir, 'model')) });
  return { dir, generated: true, generateMs: performance.now() - t0 };
}
