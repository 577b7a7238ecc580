/**
 * npm run convert -- <checkpoint dir or hub id> --out <dir> [--dtype fp32|fp16|q4|q4f16] [--cache <dir>]
 *                     [--merged-decoder] [--layout package|transformers.js]
 *
 * --merged-decoder: also write decoder_merged.onnx (all layers in one graph, manifest graphs.mergedDecoder).
 * --layout transformers.js: instead of our package, the ONNX layout @huggingface/transformers loads
 *   for LLaVA (onnx/vision_encoder, embed_tokens, decoder_model_merged; see convert/transformersjs.ts).
 *
 * A hub id ("llava-hf/llava-1.5-7b-hf") is downloaded first (resumable) from HF_ENDPOINT
 * (default https://huggingface.co) into --cache (default .cache/hub/<org>--<name>).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../convert/convert';
import { ConvertError } from '../common/errors';
import { hubEndpoint, isHubId } from '../convert/checkpoint/hub';
import { openCheckpointDir } from '../convert/checkpoint/nodeCheckpoint';
import { downloadHubCheckpoint } from '../convert/checkpoint/nodeHub';
import { DirSink } from '../package/nodeSink';
import { convertToTransformersJs } from '../convert/transformersjs';
import { ProgressBar, exitWithError } from './progressBar';
import { PACKAGE_DTYPES, type PackageDtype } from '../package/manifest';

const USAGE =
  'usage: npm run convert -- <checkpoint dir or hub id> --out <dir> [--dtype fp32|fp16|q4|q4f16] [--cache <dir>] [--merged-decoder] [--layout package|transformers.js]';

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      dtype: { type: 'string', default: 'q4' },
      cache: { type: 'string' },
      help: { type: 'boolean' },
      'merged-decoder': { type: 'boolean' },
      layout: { type: 'string', default: 'package' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [source] = positionals;
  if (!source || !values.out || positionals.length !== 1) throw new ConvertError('bad-value', 'arguments', USAGE);
  const dtype = values.dtype as PackageDtype;
  if (!PACKAGE_DTYPES.includes(dtype))
    throw new ConvertError('bad-value', '--dtype', `"${values.dtype}" is not one of ${PACKAGE_DTYPES.join(', ')}`);
  const layout = values.layout;
  if (layout !== 'package' && layout !== 'transformers.js')
    throw new ConvertError('bad-value', '--layout', `"${layout}" is not package or transformers.js`);
  if (layout === 'transformers.js' && values['merged-decoder'])
    throw new ConvertError(
      'bad-value',
      '--merged-decoder',
      "only for --layout package (transformers.js's decoder is merged already)",
    );

  let dir = source;
  let id: string | undefined;
  if (!(await isDir(source))) {
    if (!isHubId(source))
      throw new ConvertError('missing-file', source, 'neither a checkpoint folder nor a hub id ("org/name")');
    id = source;
    dir = values.cache ?? join('.cache', 'hub', source.replace('/', '--'));
    const bar = new ProgressBar(`download ${source}`);
    await downloadHubCheckpoint(source, dir, {
      token: process.env.HF_TOKEN,
      onProgress: (p) => bar.update(p.bytesDone, p.bytesTotal, p.file),
    });
    bar.done(`downloaded ${source} from ${hubEndpoint()} into ${dir}`);
  }

  const ckpt = await openCheckpointDir(dir, id);
  const bar = new ProgressBar(`convert ${dtype}`);
  try {
    if (layout === 'transformers.js') {
      const written = await convertToTransformersJs(ckpt, {
        dtype,
        sink: new DirSink(values.out),
        onProgress: (p) => bar.update(p.filesDone, p.filesDone, p.path, 'count'),
      });
      const bytes = written.reduce((n, f) => n + f.bytes, 0);
      bar.done(
        `wrote ${values.out} (transformers.js layout): ${written.length} files, ${(bytes / 1e6).toFixed(1)} MB (${dtype})`,
      );
      return;
    }
    const files = await convertCheckpoint(ckpt, {
      dtype,
      mergedDecoder: values['merged-decoder'],
      sink: new DirSink(values.out),
      onProgress: (p) => bar.update(p.graphsDone, p.graphsTotal, p.path, 'count'),
    });
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    bar.done(
      `wrote ${values.out}: ${files.length + 1} files, ${(bytes / 1e6).toFixed(1)} MB (${ckpt.config.text.arch} + ${ckpt.config.vision.arch}, ${dtype})`,
    );
  } finally {
    await ckpt.close?.();
  }
}

main().catch(exitWithError);
