import { readFile, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReferenceModel, readFromMap } from './testing/reference/package';
import { ReferenceRunner } from './testing/reference/runner';
import { convertCheckpoint } from './convert';
import { ConvertError } from '../common/errors';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { DirSink } from '../package/nodeSink';
import { SyntheticCheckpoint, syntheticCheckpointFiles } from './synthetic/synthetic';
import {
  FIXTURE,
  KEY_STYLES,
  copyFixture,
  removeDir,
  rewriteWeights,
  tempDir,
  toLegacyGeneration,
} from './testing/variants';
import { MemorySink } from '../package/sink';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

async function convertDir(dir: string, dtype: 'fp32' | 'q4'): Promise<Map<string, Uint8Array>> {
  const ckpt = await openCheckpointDir(dir);
  const sink = new MemorySink();
  await convertCheckpoint(ckpt, { dtype, sink });
  await ckpt.close?.();
  expect(sink.committed).toBe(true);
  return sink.files;
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

describe('convertCheckpoint', () => {
  it('writes every graph, the side files and a manifest whose hashes match, byte-identical on a second run', async () => {
    const parent = await tempDir('conv');
    dirs.push(parent);
    const outs = [join(parent, 'a'), join(parent, 'b')];
    for (const out of outs) {
      const ckpt = await openCheckpointDir(FIXTURE);
      await convertCheckpoint(ckpt, { dtype: 'q4', sink: new DirSink(out) });
      await ckpt.close?.();
    }
    expect((await readdir(parent)).sort()).toEqual(['a', 'b']); // no temp folders left
    const manifest = JSON.parse(await readFile(join(outs[0], 'manifest.json'), 'utf8'));
    const paths = manifest.files.map((f: { path: string }) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toEqual(
      expect.arrayContaining([
        'vision.onnx',
        'embed.onnx',
        'head.onnx',
        'layers/00.onnx',
        'layers/31.onnx',
        'config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'preprocessor_config.json',
      ]),
    );
    const { createHash } = await import('node:crypto');
    for (const f of manifest.files) {
      const a = await readFile(join(outs[0], f.path));
      expect(a.byteLength, f.path).toBe(f.bytes);
      expect(createHash('sha256').update(a).digest('hex'), f.path).toBe(f.sha256);
      expect(a.equals(await readFile(join(outs[1], f.path))), f.path).toBe(true);
    }
    expect(
      (await readFile(join(outs[0], 'manifest.json'))).equals(await readFile(join(outs[1], 'manifest.json'))),
    ).toBe(true);
    expect(await readFile(join(outs[0], 'config.json'))).toEqual(await readFile(join(FIXTURE, 'config.json')));
  });

  it('gives the same graphs for the hub generation with hub keys and sharded weights', async () => {
    const legacy = await copyFixture(FIXTURE, 'conv-legacy');
    dirs.push(legacy);
    await toLegacyGeneration(legacy, 'chat_template.json');
    await rewriteWeights(legacy, KEY_STYLES.hub, 3);
    const [a, b] = [await convertDir(FIXTURE, 'fp32'), await convertDir(legacy, 'fp32')];
    const graphs = [...a.keys()].filter((p) => p.endsWith('.onnx') || p.endsWith('.data'));
    expect(graphs.length).toBe(35);
    for (const p of graphs) expect(same(a.get(p), b.get(p)), p).toBe(true);
    expect(same(a.get('tokenizer.json'), b.get('tokenizer.json'))).toBe(true);
    const ma = JSON.parse(new TextDecoder().decode(a.get('manifest.json')));
    const mb = JSON.parse(new TextDecoder().decode(b.get('manifest.json')));
    expect(mb.source.layout).toBe('legacy');
    expect({ ...mb, source: null, name: null, files: null }).toEqual({ ...ma, source: null, name: null, files: null });
  });

  it('aborts and leaves nothing when a shard goes bad during conversion', async () => {
    const dir = await copyFixture(FIXTURE, 'conv-bad');
    dirs.push(dir);
    await rewriteWeights(dir, KEY_STYLES.saved, 2);
    const ckpt = await openCheckpointDir(dir); // headers check out at this point
    await truncate(join(dir, 'model-00002-of-00002.safetensors'), 200_000);
    const parent = await tempDir('conv-bad-out');
    dirs.push(parent);
    const err = await convertCheckpoint(ckpt, { dtype: 'fp32', sink: new DirSink(join(parent, 'pkg')) }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.message).toMatch(/^model-00002-of-00002\.safetensors: file ended at byte [\d,]+ while reading/);
    expect(await readdir(parent)).toEqual([]);
    await ckpt.close?.();
  });

  it('converts a synthetic model straight from the generator to the same graphs as through its written checkpoint', async () => {
    const tok = {
      tokenizerJson: new Uint8Array(await readFile(join(FIXTURE, 'tokenizer.json'))),
      tokenizerConfigJson: new Uint8Array(await readFile(join(FIXTURE, 'tokenizer_config.json'))),
      chatTemplate: await readFile(join(FIXTURE, 'chat_template.jinja'), 'utf8'),
    };
    const synth = new SyntheticCheckpoint('tiny', tok, 1);
    const direct = new MemorySink();
    await convertCheckpoint(synth, { dtype: 'q4', sink: direct });
    const m = JSON.parse(new TextDecoder().decode(direct.files.get('manifest.json')));
    expect(m).toMatchObject({
      synthetic: true,
      source: { kind: 'synthetic', id: 'synthetic-tiny' },
      vision: { visualTokens: 576 },
    });

    // The synthetic weights are scaled so a forward pass stays finite and is not degenerate.
    const runner = await ReferenceRunner.create(await loadReferenceModel(readFromMap(direct.files)));
    const pixels = new Float32Array(3 * 336 * 336).map((_, i) => Math.sin(i * 0.001));
    const ids = [1, ...new Array(576).fill(4), 100, 101, 102];
    const result = await runner.generate(ids, pixels, 2);
    await runner.release();
    expect(result.firstLogits.length).toBe(270);
    expect(result.firstLogits.every(Number.isFinite)).toBe(true);
    expect(result.visualEmbeds.every(Number.isFinite)).toBe(true);
    expect(Math.max(...result.firstLogits) - Math.min(...result.firstLogits)).toBeGreaterThan(1e-4);

    const parent = await tempDir('conv-synth');
    dirs.push(parent);
    const ckptDir = join(parent, 'ckpt');
    const sink = new DirSink(ckptDir);
    for (const f of syntheticCheckpointFiles(synth, 'F32')) await sink.writeStream(f.path, f.chunks);
    await sink.commit();
    const viaDisk = await convertDir(ckptDir, 'q4');
    for (const [path, bytes] of direct.files) {
      if (path === 'manifest.json') continue;
      expect(same(bytes, viaDisk.get(path)), path).toBe(true);
    }
  });
});
