/**
 * `npm run eval` as a person runs it, in child processes (wasm backend, synthetic tiny package,
 * generated POPE folder): a run killed with SIGKILL part-way and started again ends with the
 * same results.json as an uninterrupted run (results.json holds no timings; speed.json does,
 * and is allowed to differ); a resume with other settings is refused with a sentence.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseRecordLog } from '../eval/records';
import { writePope } from '../eval/testing/datasets';
import { REPO, TSX, tinyPackage } from '../eval/testing/tinyPackage';

const root = mkdtempSync(join(tmpdir(), 'eval-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'pope');
writePope(data, { splits: ['random'], perSplit: 3 }); // 3 answerable + a missing image + a cut-off line

const args = (out: string, extra: string[] = []) => [
  TSX,
  join(REPO, 'src', 'cli', 'eval.ts'),
  '--model',
  tinyPackage(),
  '--data',
  data,
  '--format',
  'pope',
  '--methods',
  'none,sparsevlm:64',
  '--max-new-tokens',
  '3',
  '--backend',
  'wasm',
  '--out',
  out,
  ...extra,
];
const lines = (out: string) =>
  existsSync(join(out, 'records.jsonl'))
    ? readFileSync(join(out, 'records.jsonl'), 'utf8').split('\n').filter(Boolean).length
    : 0;

function runToEnd(out: string, extra: string[] = []) {
  return spawnSync(process.execPath, args(out, extra), { cwd: REPO, encoding: 'utf8', timeout: 240_000 });
}

/** Start the CLI and SIGKILL it once its log holds `after` records. */
async function runAndKill(out: string, after: number): Promise<void> {
  const child = spawn(process.execPath, args(out), { cwd: REPO, stdio: 'ignore' });
  const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
  while (lines(out) < after && child.exitCode === null) await new Promise((ok) => setTimeout(ok, 50));
  child.kill('SIGKILL');
  await exited;
}

it('killed after 4 of 10 records and run again: the same results.json as an uninterrupted run', async () => {
  const whole = join(root, 'whole');
  const a = runToEnd(whole);
  expect(a.status, a.stderr).toBe(0);
  expect(lines(whole)).toBe(10);

  const resumed = join(root, 'resumed');
  await runAndKill(resumed, 4);
  expect(existsSync(join(resumed, 'results.json'))).toBe(false); // it did not get to the end
  const before = lines(resumed);
  expect(before).toBeGreaterThanOrEqual(4);
  expect(before).toBeLessThan(10);
  const b = runToEnd(resumed);
  expect(b.status, b.stderr).toBe(0);
  expect(b.stderr).toContain('resumed');
  // Every record once: nothing asked twice, nothing lost.
  const log = readFileSync(join(resumed, 'records.jsonl'), 'utf8');
  expect(parseRecordLog(log).records).toHaveLength(10);
  expect(log.split('\n').filter(Boolean)).toHaveLength(10);
  expect(readFileSync(join(resumed, 'results.json'), 'utf8')).toBe(readFileSync(join(whole, 'results.json'), 'utf8'));
  const speed = JSON.parse(readFileSync(join(resumed, 'speed.json'), 'utf8'));
  expect(speed.methods.map((m: { method: string; requests: number }) => [m.method, m.requests])).toEqual([
    ['none', 3],
    ['sparsevlm:64', 3],
  ]);
  expect(readFileSync(join(resumed, 'results.md'), 'utf8')).toContain('| sparsevlm:64 |');
  expect(readFileSync(join(resumed, 'results.svg'), 'utf8')).toMatch(
    /^<svg [^>]*>[\s\S]*sparsevlm:64[\s\S]*<\/svg>\n$/,
  );
}, 600_000);

it('a resume with other settings is refused, naming the difference', () => {
  const r = runToEnd(join(root, 'whole'), ['--no-suffix']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    /records a run with other settings .*"suffix":"Answer the question using a single word or phrase\."/,
  );
}, 300_000);
