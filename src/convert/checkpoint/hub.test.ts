import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from './checkpoint';
import { ConvertError } from '../../common/errors';
import { hubFolder, listHubFiles } from './hub';
import { openCheckpointDir } from './nodeCheckpoint';
import { downloadHubCheckpoint, type DownloadProgress } from './nodeHub';
import { startHubServer, type HubServer } from '../testing/hubServer';
import { convertCheckpoint } from '../convert';
import { loadReferenceModel, readFromMap } from '../testing/reference/package';
import { pixelValuesFor } from '../testing/reference/pixels';
import { ReferenceRunner } from '../testing/reference/runner';
import { FIXTURE, KEY_STYLES, copyFixture, removeDir, rewriteWeights, tempDir } from '../testing/variants';
import { MemorySink } from '../../package/sink';

/** BF16 in 3 shards + index as transformers' save_pretrained wrote them (fixtures/README.md). */
const BF16_SHARDED = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'llama-clip-bf16-sharded');
let server: HubServer;
let sharded: string;
const dirs: string[] = [];

beforeAll(async () => {
  sharded = await copyFixture(FIXTURE, 'hub-sharded');
  await rewriteWeights(sharded, KEY_STYLES.saved, 3);
  dirs.push(sharded);
  server = await startHubServer({
    'test-org/open-deep': FIXTURE,
    'test-org/sharded': sharded,
    'test-org/bf16-sharded': BF16_SHARDED,
  });
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) await removeDir(d);
});

describe('hub download', () => {
  it('lists the files a checkpoint has, by trying known names and following the index', async () => {
    const single = await listHubFiles('test-org/open-deep', { endpoint: server.endpoint });
    expect(single.map((f) => f.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'processor_config.json',
      'chat_template.jinja',
      'generation_config.json',
      'model.safetensors',
    ]);
    expect(single.find((f) => f.path === 'model.safetensors')!.size).toBe(
      (await stat(join(FIXTURE, 'model.safetensors'))).size,
    );
    const shards = await listHubFiles('test-org/sharded', { endpoint: server.endpoint });
    expect(shards.map((f) => f.path).slice(-4)).toEqual([
      'model.safetensors.index.json',
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
  });

  it('resumes a cut-off shard with a Range request and ends with identical files', async () => {
    const dest = await tempDir('hub-dl');
    dirs.push(dest);
    const shard = 'model-00002-of-00003.safetensors';
    server.cutOnce(shard, 1_000_000);
    const first = await downloadHubCheckpoint('test-org/sharded', dest, { endpoint: server.endpoint }).catch((e) => e);
    expect(first).toBeInstanceOf(ConvertError);
    expect((first as ConvertError).message).toMatch(
      /model-00002-of-00003\.safetensors: (connection lost after|downloaded) [\d,]+ (of|bytes but the hub says) [\d,]+/,
    );
    // What arrived before the cut is kept (bytes still in flight when the socket dropped may be lost).
    const kept = (await stat(join(dest, `${shard}.part`))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(1_000_000);

    const seen = server.log.length;
    const progress: DownloadProgress[] = [];
    await downloadHubCheckpoint('test-org/sharded', dest, {
      endpoint: server.endpoint,
      onProgress: (p) => progress.push(p),
    });
    const gets = server.log.slice(seen).filter((r) => r.method === 'GET' && !r.path.endsWith('index.json'));
    // Only the cut shard and the one after it are fetched again; the cut one from where the .part ends.
    expect(gets.map((g) => [g.path.split('/').pop(), g.range, g.status])).toEqual([
      [shard, `bytes=${kept}-`, 206],
      ['model-00003-of-00003.safetensors', null, 200],
    ]);
    const last = progress[progress.length - 1];
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(last.filesDone).toBe(last.filesTotal);

    // Everything but what a checkpoint does not need (golden.json, image.png) came over, byte for byte.
    expect((await readdir(dest)).sort()).toEqual(
      (await readdir(sharded)).filter((n) => !/^golden\.json$|\.png$/.test(n)).sort(),
    );
    for (const name of await readdir(dest)) {
      expect(
        Buffer.from(await readFile(join(dest, name))).equals(Buffer.from(await readFile(join(sharded, name)))),
        name,
      ).toBe(true);
    }
    expect((await readdir(dest)).some((n) => n.endsWith('.part'))).toBe(false);
    const ckpt = await openCheckpointDir(dest);
    expect(ckpt.names().length).toBe(334);
  });

  it('opens a hub checkpoint in place with Range reads (the browser path)', async () => {
    const remote = await openCheckpoint(hubFolder('test-org/sharded', { endpoint: server.endpoint }));
    const local = await openCheckpointDir(FIXTURE);
    expect(remote.names()).toEqual(local.names());
    expect(remote.config).toEqual(local.config);
    const name = 'text.layers.20.mlp.up_proj.weight';
    expect(Array.from(await remote.read(name))).toEqual(Array.from(await local.read(name)));
  });

  it('converts a BF16 checkpoint sharded as the hub ships it, read in place, to a package that reproduces transformers', async () => {
    const golden = JSON.parse(await readFile(join(BF16_SHARDED, 'golden.json'), 'utf8')) as {
      input_ids: number[];
      first_step_logits: number[];
      greedy16: number[];
    };
    const remote = await openCheckpoint(hubFolder('test-org/bf16-sharded', { endpoint: server.endpoint }));
    expect(remote.info('text.layers.0.self_attn.q_proj.weight')?.dtype).toBe('BF16');
    const sink = new MemorySink();
    await convertCheckpoint(remote, { dtype: 'fp32', sink });
    const ranges = server.log.filter(
      (r) => r.path.includes('bf16-sharded') && r.path.endsWith('.safetensors') && r.range,
    );
    expect(new Set(ranges.map((r) => r.path.split('/').pop())).size).toBe(3); // every shard read by Range
    const runner = await ReferenceRunner.create(await loadReferenceModel(readFromMap(sink.files)));
    try {
      const pixels = (await pixelValuesFor(remote.files['preprocessor_config.json'], join(BF16_SHARDED, 'image.png')))
        .data;
      const result = await runner.generate(golden.input_ids, pixels, 16);
      const worst = golden.first_step_logits.reduce((w, v, i) => Math.max(w, Math.abs(result.firstLogits[i] - v)), 0);
      expect(worst).toBeLessThan(1e-4);
      expect(result.tokens).toEqual(golden.greedy16);
    } finally {
      await runner.release();
    }
  });

  it('names the URL when a repo does not exist', async () => {
    const err = await listHubFiles('test-org/nope', { endpoint: server.endpoint }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.message).toBe(
      `${server.endpoint}/test-org/nope/resolve/main/config.json: no config.json: is "test-org/nope" a model repo on ${server.endpoint}?`,
    );
  });
});
