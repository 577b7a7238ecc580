/**
 * The import-direction rules (.dependency-cruiser.cjs, docs/ARCHITECTURE.md "Rooms and arrows")
 * catch what they are for: a planted upward import and a planted circle in a throw-away tree
 * fail the check, a tree whose arrows point down passes, and test files may import across.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult } from 'dependency-cruiser';

const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as { forbidden: unknown[] };

let root = '';

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(root, 'tree-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** Violations as 'rule: from → to' lines. */
async function violations(dir: string): Promise<string[]> {
  const previous = process.cwd();
  process.chdir(dir); // rule paths are relative to the cruised tree's root, as in `npm run lint`
  try {
    const result = await cruise(['src'], {
      ruleSet: { forbidden: rules.forbidden } as never,
      validate: true,
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
    });
    const output = result.output as ICruiseResult;
    return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
  } finally {
    process.chdir(previous);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'svlm-rules-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('import-direction rules', () => {
  it('pass a tree whose arrows point down (tests may import across rooms)', async () => {
    const dir = await tree({
      'src/common/trace.ts': 'export type StageTrace = { layer: number };\n',
      'src/prune/method.ts':
        "import type { StageTrace } from '../common/trace';\nexport const first = (s: StageTrace) => s.layer;\n",
      'src/engine/engine.ts': "import { first } from '../prune/method';\nexport const run = first;\n",
      'src/engine/engine.test.ts':
        "import { run } from './engine';\nimport { convert } from '../convert/convert';\nexport const t = [run, convert];\n",
      'src/convert/convert.ts': 'export const convert = 1;\n',
    });
    expect(await violations(dir)).toEqual([]);
  });

  it('fail an upward import between rooms', async () => {
    const dir = await tree({
      'src/engine/trace.ts': 'export type StageTrace = { layer: number };\n',
      'src/prune/method.ts':
        "import type { StageTrace } from '../engine/trace';\nexport const first = (s: StageTrace) => s.layer;\n",
      'src/convert/convert.ts': "import { first } from '../prune/method';\nexport const c = first;\n",
    });
    expect(await violations(dir)).toEqual([
      'convert-alone: src/convert/convert.ts → src/prune/method.ts',
      'prune-down: src/prune/method.ts → src/engine/trace.ts',
    ]);
  });

  it('fail a circle, even inside one room', async () => {
    const dir = await tree({
      'src/convert/checkpoint.ts':
        "import { read } from './safetensors';\nexport type TensorInfo = { name: string };\nexport const open = read;\n",
      'src/convert/safetensors.ts':
        "import type { TensorInfo } from './checkpoint';\nexport const read = (t: TensorInfo) => t.name;\n",
    });
    const found = await violations(dir);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((v) => v.startsWith('no-circular:'))).toBe(true);
    expect(found).toContain('no-circular: src/convert/checkpoint.ts → src/convert/safetensors.ts');
  });

  it('fail runtime code that imports a test helper', async () => {
    const dir = await tree({
      'src/gpu/testing/dawn.ts': 'export const dawn = 1;\n',
      'src/gpu/pool.ts': "import { dawn } from './testing/dawn';\nexport const pool = dawn;\n",
    });
    expect(await violations(dir)).toEqual(['runtime-not-test: src/gpu/pool.ts → src/gpu/testing/dawn.ts']);
  });
});
