#!/usr/bin/env node
// Makes the app's bundled synthetic model (public/models/synthetic-tiny/, git-ignored) when it is
// missing or was made by other converter sources. Runs before `npm run dev` and `npm run build`.
// The package is deterministic: the same sources and seed give the same bytes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'public/models/synthetic-tiny');
const stampFile = join(out, '.sources-sha256');

function sourcesHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name))
        hash.update(path.slice(root.length)).update(readFileSync(path));
    }
  };
  walk(join(root, 'src/convert'));
  walk(join(root, 'src/cli'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja']) {
    hash.update(readFileSync(join(root, 'fixtures/open-llava15-deep', f)));
  }
  return hash.digest('hex');
}

const want = sourcesHash();
if (existsSync(join(out, 'manifest.json')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
  console.log('synthetic model: up to date (public/models/synthetic-tiny)');
  process.exit(0);
}
console.log('synthetic model: making public/models/synthetic-tiny (deep-tiny shape, q4)…');
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/tsx/dist/cli.mjs'),
    join(root, 'src/cli/make-synthetic.ts'),
    '--shape',
    'deep-tiny',
    '--format',
    'package',
    '--dtype',
    'q4',
    '--seed',
    '7',
    '--out',
    out,
  ],
  { stdio: 'inherit' },
);
writeFileSync(stampFile, want);
