/**
 * The synthetic `tiny` package (576 visual tokens, 4 layers, q4) the eval tests run on, made
 * once by `npm run make-synthetic` into .cache/eval/test-tiny (git-ignored) and reused.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..', '..');
export const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

export function tinyPackage(): string {
  const out = join(REPO, '.cache', 'eval', 'test-tiny');
  if (!existsSync(join(out, 'manifest.json'))) {
    execFileSync(
      process.execPath,
      [
        TSX,
        join(REPO, 'src', 'cli', 'make-synthetic.ts'),
        '--shape',
        'tiny',
        '--format',
        'package',
        '--dtype',
        'q4',
        '--seed',
        '7',
        '--out',
        out,
      ],
      { stdio: 'ignore' },
    );
  }
  return out;
}
