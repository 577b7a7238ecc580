/**
 * npm run make-synthetic -- --shape <name> --out <dir> [--format checkpoint|package|transformers.js]
 *                           [--dtype fp32|fp16|q4|q4f16] [--seed N] [--tensor-dtype F32|F16|BF16]
 *                           [--merged-decoder]
 *
 * checkpoint: an HF-layout folder (what transformers 5 save_pretrained writes), weights generated
 *             while they stream to disk (sharded above 5 GB).
 * package:    converted straight from the generator, tensor by tensor (no checkpoint on disk,
 *             never all weights in memory): how the 7B-shaped benchmark model is made.
 * transformers.js: the same model in @huggingface/transformers' ONNX layout (the bench's peer).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../convert/convert';
import { ConvertError } from '../common/errors';
import { DirSink } from '../package/nodeSink';
import {
  SYNTHETIC_SHAPES,
  SyntheticCheckpoint,
  syntheticCheckpointFiles,
  syntheticTokenizerFixture,
} from '../convert/synthetic/synthetic';
import { convertToTransformersJs } from '../convert/transformersjs';
import { ProgressBar, exitWithError } from './progressBar';
import { PACKAGE_DTYPES, type PackageDtype } from '../package/manifest';
import type { TensorDtype } from '../convert/checkpoint/safetensors';

/** The shape's fixture tokenizer (open-llava15-deep; a Video-LLaVA shape's has `<video>` too). */
const tokenizerDir = (shape: string) => new URL(`../../fixtures/${syntheticTokenizerFixture(shape)}/`, import.meta.url);
const USAGE = `usage: npm run make-synthetic -- --shape <${Object.keys(SYNTHETIC_SHAPES).join('|')}> --out <dir> [--format checkpoint|package|transformers.js] [--dtype fp32|fp16|q4|q4f16] [--seed N] [--tensor-dtype F32|F16|BF16] [--merged-decoder]`;

async function loadSyntheticTokenizer(shape: string) {
  const dir = tokenizerDir(shape);
  return {
    tokenizerJson: new Uint8Array(await readFile(new URL('tokenizer.json', dir))),
    tokenizerConfigJson: new Uint8Array(await readFile(new URL('tokenizer_config.json', dir))),
    chatTemplate: await readFile(new URL('chat_template.jinja', dir), 'utf8'),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string', default: 'checkpoint' },
      dtype: { type: 'string', default: 'q4' },
      seed: { type: 'string', default: '0' },
      'tensor-dtype': { type: 'string', default: 'F32' },
      'merged-decoder': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.shape || !values.out) throw new ConvertError('bad-value', 'arguments', USAGE);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new ConvertError('bad-value', '--seed', `"${values.seed}" is not a non-negative integer`);
  const ckpt = new SyntheticCheckpoint(values.shape, await loadSyntheticTokenizer(values.shape), seed);
  const sink = new DirSink(values.out);

  if (values.format === 'checkpoint') {
    const tensorDtype = values['tensor-dtype'] as TensorDtype;
    if (!['F32', 'F16', 'BF16'].includes(tensorDtype))
      throw new ConvertError('bad-value', '--tensor-dtype', `"${tensorDtype}" is not one of F32, F16, BF16`);
    const bar = new ProgressBar(`synthetic ${values.shape}`);
    const files = syntheticCheckpointFiles(ckpt, tensorDtype);
    try {
      for (const [i, file] of files.entries()) {
        bar.update(i, files.length, file.path, 'count');
        await sink.writeStream(file.path, file.chunks);
      }
      await sink.commit();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    bar.done(
      `wrote checkpoint ${values.out} (${values.shape}, ${(ckpt.parameterCount() / 1e6).toFixed(1)}M parameters, ${tensorDtype})`,
    );
  } else if (values.format === 'package') {
    const dtype = values.dtype as PackageDtype;
    if (!PACKAGE_DTYPES.includes(dtype))
      throw new ConvertError('bad-value', '--dtype', `"${values.dtype}" is not one of ${PACKAGE_DTYPES.join(', ')}`);
    const bar = new ProgressBar(`synthetic ${values.shape} → ${dtype}`);
    const files = await convertCheckpoint(ckpt, {
      dtype,
      sink,
      mergedDecoder: values['merged-decoder'],
      onProgress: (p) => bar.update(p.graphsDone, p.graphsTotal, p.path, 'count'),
    });
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    bar.done(`wrote package ${values.out} (${values.shape}, ${dtype}, ${(bytes / 1e6).toFixed(1)} MB)`);
  } else if (values.format === 'transformers.js') {
    const dtype = values.dtype as PackageDtype;
    if (!PACKAGE_DTYPES.includes(dtype))
      throw new ConvertError('bad-value', '--dtype', `"${values.dtype}" is not one of ${PACKAGE_DTYPES.join(', ')}`);
    const bar = new ProgressBar(`synthetic ${values.shape} → transformers.js ${dtype}`);
    const files = await convertToTransformersJs(ckpt, {
      dtype,
      sink,
      onProgress: (p) => bar.update(p.filesDone, p.filesDone, p.path, 'count'),
    });
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    bar.done(`wrote ${values.out} (${values.shape}, transformers.js layout, ${dtype}, ${(bytes / 1e6).toFixed(1)} MB)`);
  } else {
    throw new ConvertError('bad-value', '--format', `"${values.format}" is not checkpoint, package or transformers.js`);
  }
}

main().catch(exitWithError);
