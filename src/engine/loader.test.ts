import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPackage } from './loader';
import { dirReader } from '../package/nodeSource';
import { initOrt } from './ortEnv';
import { EngineError } from '../common/errors';

const fixture = 'fixtures/open-llava15-deep/';
const root = mkdtempSync(join(tmpdir(), 'engine-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A package folder whose files are real bytes with real hashes; `edit` breaks one thing. */
function makePackage(name: string, edit: (m: Record<string, unknown>, dir: string) => void = () => {}): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'layers'), { recursive: true });
  const files: Record<string, Buffer> = {
    'tokenizer.json': readFileSync(fixture + 'tokenizer.json'),
    'tokenizer_config.json': readFileSync(fixture + 'tokenizer_config.json'),
    'config.json': readFileSync(fixture + 'config.json'),
    'vision.onnx': Buffer.from('vision graph bytes'),
    'embed.onnx': Buffer.from('embed graph bytes'),
    'layers/00.onnx': Buffer.from('layer graph bytes'),
    'head.onnx': Buffer.from('head graph bytes'),
  };
  for (const [p, b] of Object.entries(files)) writeFileSync(join(dir, p), b);
  const manifest: Record<string, unknown> = {
    format: 'sparsevlm-package',
    version: 1,
    name,
    dtype: 'fp32',
    activationDtype: 'float32',
    architecture: { text: 'llama', vision: 'clip' },
    text: {
      hiddenSize: 80,
      numLayers: 1,
      numHeads: 5,
      numKvHeads: 5,
      headDim: 16,
      intermediateSize: 192,
      vocabSize: 270,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      maxPositions: 2048,
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: 3,
    },
    vision: {
      imageSize: 336,
      patchSize: 14,
      gridSize: [24, 24],
      visualTokens: 576,
      featureLayer: -2,
      selectStrategy: 'default',
    },
    imageTokenId: 4,
    imageToken: '<image>',
    chatTemplate: readFileSync(fixture + 'chat_template.jinja', 'utf8'),
    graphs: { vision: 'vision.onnx', embed: 'embed.onnx', layers: ['layers/00.onnx'], head: 'head.onnx' },
    files: Object.entries(files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, b]) => ({ path, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') })),
  };
  edit(manifest, dir);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

async function loadError(dir: string): Promise<EngineError> {
  const rt = await initOrt({ preferBackend: 'wasm' });
  try {
    await loadPackage(rt, dirReader(dir));
  } catch (e) {
    return e as EngineError;
  }
  throw new Error('expected the load to fail');
}

describe('loadPackage refuses broken packages with one sentence naming the file', () => {
  it('unknown manifest version', async () => {
    const e = await loadError(
      makePackage('v9', (m) => {
        m.version = 9;
      }),
    );
    expect(e).toBeInstanceOf(EngineError);
    expect(e.code).toBe('manifest-version');
    expect(e.message).toBe('This package has manifest version 9, which this app does not know (it reads version 1).');
  });

  it('wrong sha256', async () => {
    const e = await loadError(
      makePackage('sha', (_m, dir) => {
        writeFileSync(
          join(dir, 'config.json'),
          readFileSync(join(dir, 'config.json'), 'utf8').replace('llava', 'llavX'),
        );
      }),
    );
    expect(e.code).toBe('sha256-mismatch');
    expect(e.message).toContain('config.json');
    expect(e.data).toMatchObject({ file: 'config.json' });
  });

  it('missing file', async () => {
    const e = await loadError(makePackage('missing', (_m, dir) => rmSync(join(dir, 'vision.onnx'))));
    expect(e.code).toBe('file-missing');
    expect(e.message).toMatch(/^The package file vision\.onnx is missing from .*missing\.$/);
  });

  it('no manifest, and a graph list that disagrees with numLayers', async () => {
    const dir = makePackage('nomanifest');
    rmSync(join(dir, 'manifest.json'));
    expect((await loadError(dir)).code).toBe('manifest-missing');
    const e = await loadError(
      makePackage('layers', (m) => {
        (m.text as { numLayers: number }).numLayers = 2;
      }),
    );
    expect(e.code).toBe('manifest-invalid');
    expect(e.message).toContain('graphs.layers');
  });
});
