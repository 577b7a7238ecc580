/** The CLIs as a person runs them: one-line errors with exit 1 and no output left; a hub id through HF_ENDPOINT. */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHETIC_SHAPES } from './synthetic/synthetic';
import { startHubServer, type HubServer } from './testing/hubServer';
import { FIXTURE, copyFixture, editJson, removeDir, tempDir } from './testing/variants';

const TSX = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

function run(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((done) => {
    execFile(
      TSX,
      [script, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const dirs: string[] = [];
let server: HubServer;
beforeAll(async () => {
  server = await startHubServer({ 'test-org/open-deep': FIXTURE });
});
afterAll(async () => {
  await server.close();
  for (const d of dirs) await removeDir(d);
});

async function expectOneLineFailure(args: string[], pattern: RegExp, script = 'src/cli/convert.ts') {
  const parent = await tempDir('cli');
  dirs.push(parent);
  const res = await run(script, [...args, '--out', join(parent, 'pkg')]);
  expect(res.code).toBe(1);
  const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(await readdir(parent)).toEqual([]); // no package, no temp folder
}

describe('npm run convert / make-synthetic', () => {
  it('one-line errors: unsupported architecture, missing config key, truncated weights, unknown input, unknown shape', async () => {
    const arch = await copyFixture(FIXTURE, 'cli-arch');
    dirs.push(arch);
    await editJson(join(arch, 'config.json'), (j) => {
      j.vision_config.model_type = 'dinov2';
    });
    await expectOneLineFailure(
      [arch],
      /^error: config\.json: unsupported vision tower "dinov2" in "vision_config\.model_type" \(supported: /,
    );

    const key = await copyFixture(FIXTURE, 'cli-key');
    dirs.push(key);
    await editJson(join(key, 'config.json'), (j) => {
      delete j.model_type;
    });
    await expectOneLineFailure([key], /^error: config\.json: missing key "model_type"$/);

    const trunc = await copyFixture(FIXTURE, 'cli-trunc');
    dirs.push(trunc);
    const { truncate } = await import('node:fs/promises');
    await truncate(join(trunc, 'model.safetensors'), 5_000_000);
    await expectOneLineFailure(
      [trunc, '--dtype', 'fp32'],
      /^error: model\.safetensors: truncated: header says tensor "[^"]+" ends at byte [\d,]+ but the file has 5,000,000$/,
    );

    await expectOneLineFailure(
      ['./no/such/dir'],
      /^error: \.\/no\/such\/dir: neither a checkpoint folder nor a hub id/,
    );
    await expectOneLineFailure(
      ['--shape', 'huge'],
      new RegExp(`^error: huge: unknown synthetic shape \\(known: ${Object.keys(SYNTHETIC_SHAPES).join(', ')}\\)$`),
      'src/cli/make-synthetic.ts',
    );
  });

  it('converts a hub id: downloads from HF_ENDPOINT into the cache, then converts', async () => {
    const parent = await tempDir('cli-hub');
    dirs.push(parent);
    const res = await run(
      'src/cli/convert.ts',
      ['test-org/open-deep', '--out', join(parent, 'pkg'), '--dtype', 'fp32', '--cache', join(parent, 'cache')],
      { HF_ENDPOINT: server.endpoint },
    );
    expect(res.stderr.slice(-3000)).toContain(`downloaded test-org/open-deep from ${server.endpoint}`);
    expect(res.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(parent, 'pkg', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: 'open-deep',
      source: { kind: 'checkpoint', id: 'test-org/open-deep', layout: 'v5' },
      dtype: 'fp32',
    });
    // Buffer.equals: a deep toEqual over 10 MB of bytes takes minutes.
    expect(
      (await readFile(join(parent, 'cache', 'model.safetensors'))).equals(
        await readFile(join(FIXTURE, 'model.safetensors')),
      ),
    ).toBe(true);
  });

  it('make-synthetic --format package writes a synthetic q4 package', async () => {
    const parent = await tempDir('cli-synth');
    dirs.push(parent);
    const res = await run('src/cli/make-synthetic.ts', [
      '--shape',
      'tiny',
      '--format',
      'package',
      '--dtype',
      'q4',
      '--seed',
      '5',
      '--out',
      join(parent, 'pkg'),
    ]);
    expect(res.code, res.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(parent, 'pkg', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      synthetic: true,
      dtype: 'q4',
      text: { numLayers: 4, numKvHeads: 2 },
      vision: { visualTokens: 576 },
    });
    expect(manifest.files.length).toBe(4 + 3 + 4);
  });
});
