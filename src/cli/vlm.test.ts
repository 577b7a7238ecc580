/**
 * `npm run vlm` refuses what it can check without the model before loading it (a 7B package
 * loads for minutes): each case below fails with one sentence naming the problem. The package
 * folder's manifest.json is `{}`, which the loader would refuse as invalid, so a message
 * other than that one proves the check ran before any load.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const TSX = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vlm-cli-'));
const pkg = join(dir, 'package');
const notImage = join(dir, 'notes.txt');
writeFileSync(notImage, 'not an image');
mkdirSync(pkg);
writeFileSync(join(pkg, 'manifest.json'), '{}');
// A LLaVA-1.5-shaped manifest's limits (576 tokens an image, 2048 positions) for the frame-count check.
const llava = join(dir, 'llava');
mkdirSync(llava);
writeFileSync(
  join(llava, 'manifest.json'),
  JSON.stringify({ vision: { visualTokens: 576 }, text: { maxPositions: 2048 } }),
);
const emptyFolder = join(dir, 'no-frames');
mkdirSync(emptyFolder);
const FRAMES = 'fixtures/multi/frames';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vlm(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((done) => {
    execFile(TSX, ['src/cli/vlm.ts', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const IMAGE = 'public/samples/shapes.png';
const base = ['--model', pkg, '--image', IMAGE, '--question', 'What is this?'];

describe('vlm CLI: bad requests are refused before the model loads', () => {
  for (const [name, args, message] of [
    [
      'negative answer length',
      [...base, '--max-new-tokens', '-3'],
      /--max-new-tokens must be a whole number of tokens from 1 to 4096, not -3\./,
    ],
    [
      'answer length not a number',
      [...base, '--max-new-tokens', 'many'],
      /--max-new-tokens must be a number, not "many"\./,
    ],
    ['top-p out of range', [...base, '--top-p', '1.5'], /--top-p must be a number in \(0, 1\]/],
    ['unknown method', [...base, '--method', 'sparse'], /unknown --method "sparse"; known: none, sparsevlm/],
    ['unknown method parameter', [...base, '--method', 'fastv', '--lambda', '2'], /parameter --lambda/],
    ['image that is not one', ['--model', pkg, '--image', notImage, '--question', 'What?'], /not an image/],
    [
      'missing image file',
      ['--model', pkg, '--image', join(dir, 'nope.png'), '--question', 'What?'],
      /cannot read the image file/,
    ],
    ['empty question', ['--model', pkg, '--image', IMAGE, '--question', ' '], /--question needs the question text/],
    ['folder without a package', ['--model', dir, '--image', IMAGE, '--question', 'What?'], /has no manifest\.json/],
    ['a second image that is not one', [...base, '--image', notImage], /not an image/],
    ['a video and images together', [...base, '--video', FRAMES], /give --image files or one --video, not both/],
    ['--frames without a video', [...base, '--frames', '4'], /--frames samples a --video/],
    [
      'zero frames asked for',
      ['--model', pkg, '--video', FRAMES, '--frames', '0', '--question', 'What?'],
      /--frames must be a whole number of at least 1, not 0\./,
    ],
    [
      'a video folder without frames',
      ['--model', pkg, '--video', emptyFolder, '--question', 'What?'],
      /The video .*no-frames has no frames: the folder holds no frame images/,
    ],
    [
      'a video that is not one',
      ['--model', pkg, '--video', notImage, '--question', 'What?'],
      /The video .*notes\.txt could not be read/,
    ],
    [
      'a missing video',
      ['--model', pkg, '--video', join(dir, 'nope.gif'), '--question', 'What?'],
      /could not be read: no such file or folder/,
    ],
    ['an empty follow-up', [...base, '--follow-up', ' '], /--follow-up 1 needs the question text/],
    [
      'a follow-up mode that does not exist',
      [...base, '--follow-up', 'Why?', '--follow-up-mode', 'again'],
      /--follow-up-mode must be reuse-cache or prefill-again, not "again"\./,
    ],
    [
      'a follow-up mode without a follow-up',
      [...base, '--follow-up-mode', 'prefill-again'],
      /give --follow-up <text> with it/,
    ],
    [
      'more frames than the context holds',
      ['--model', llava, '--video', FRAMES, '--frames', '8', '--question', 'What?'],
      /8 frames take 8 × 576 = 4608 visual tokens; with 64 for the answer that is more than the model's context of 2048 tokens: at most 3 fit \(fewer frames: --frames\)\./,
    ],
  ] as const) {
    it(name, async () => {
      const r = await vlm([...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^vlm: [^\n]+\n$/); // one line, nothing about backends or loading before it
    });
  }
});
