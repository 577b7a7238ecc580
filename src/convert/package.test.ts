import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest, type ManifestFile, layerGraphPath } from '../package/manifest';
import { ConvertError } from '../common/errors';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { DirSink } from '../package/nodeSink';
import { buildManifest } from './manifestWriter';
import { FIXTURE, removeDir, tempDir } from './testing/variants';
import { sha256Hex } from '../package/hash';
import { MemorySink } from '../package/sink';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

describe('package sinks', () => {
  it('DirSink shows nothing at the target until commit, then everything at once, replacing an old package', async () => {
    const parent = await tempDir('sink');
    dirs.push(parent);
    const out = join(parent, 'pkg');
    await mkdir(out);
    await writeFile(join(out, 'stale.onnx'), 'old');
    const sink = new DirSink(out);
    await sink.write('layers/00.onnx', new Uint8Array([1, 2, 3]));
    await sink.write('manifest.json', new TextEncoder().encode('{}'));
    expect(await readdir(out)).toEqual(['stale.onnx']);
    await expect(sink.write('layers/00.onnx', new Uint8Array(1))).rejects.toThrow('layers/00.onnx: written twice');
    await expect(sink.write('../escape', new Uint8Array(1))).rejects.toBeInstanceOf(ConvertError);
    await sink.commit();
    expect((await readdir(out)).sort()).toEqual(['layers', 'manifest.json']);
    expect([...(await readFile(join(out, 'layers/00.onnx')))]).toEqual([1, 2, 3]);
    expect(await readdir(parent)).toEqual(['pkg']);
  });

  it('DirSink.abort leaves no trace', async () => {
    const parent = await tempDir('sink-abort');
    dirs.push(parent);
    const sink = new DirSink(join(parent, 'pkg'));
    await sink.write('vision.onnx', new Uint8Array(10));
    expect((await readdir(parent)).length).toBe(1); // the hidden temp folder
    await sink.abort();
    expect(await readdir(parent)).toEqual([]);
  });

  it('sha256Hex matches node:crypto', async () => {
    const bytes = new TextEncoder().encode('sparsevlm');
    expect(await sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('manifest', () => {
  it('follows ARCHITECTURE.md, sorts files, is deterministic, and the engine parses it', async () => {
    const ckpt = await openCheckpointDir(FIXTURE);
    const n = ckpt.config.text.numLayers;
    const paths = [
      'vision.onnx',
      'head.onnx',
      'embed.onnx',
      'tokenizer.json',
      ...Array.from({ length: n }, (_, i) => layerGraphPath(i, n)).reverse(),
    ];
    const files: ManifestFile[] = [];
    for (const path of paths) {
      const bytes = new TextEncoder().encode(path);
      files.push({ path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
    }
    const a = buildManifest(ckpt, 'q4', files);
    const b = buildManifest(ckpt, 'q4', [...files].reverse());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const text = new TextDecoder().decode(a);
    const m = parseManifest(text);
    expect(m).toMatchObject({
      format: 'sparsevlm-package',
      version: 1,
      name: 'open-llava15-deep',
      dtype: 'q4',
      activationDtype: 'float32',
      source: { kind: 'checkpoint', id: 'open-llava15-deep', layout: 'v5' },
      architecture: { text: 'llama', vision: 'clip' },
      vision: { gridSize: [24, 24], visualTokens: 576, featureLayer: -2, selectStrategy: 'default' },
      imageTokenId: 4,
      imageToken: '<image>',
    });
    expect(m.graphs.layers[0]).toBe('layers/00.onnx');
    expect(m.graphs.layers[31]).toBe('layers/31.onnx');
    expect(m.files.map((f) => f.path)).toEqual([...paths].sort());
    expect(m.chatTemplate).toBe(ckpt.chatTemplate);
    expect(JSON.parse(new TextDecoder().decode(buildManifest(ckpt, 'q4f16', files))).activationDtype).toBe('float16');
    expect(layerGraphPath(7, 120)).toBe('layers/007.onnx');
  });

  it('MemorySink keeps files and forgets them on abort', async () => {
    const sink = new MemorySink();
    await sink.write('a/b.onnx', new Uint8Array([5]));
    expect(sink.files.get('a/b.onnx')).toEqual(new Uint8Array([5]));
    await sink.abort();
    expect(sink.files.size).toBe(0);
  });
});
