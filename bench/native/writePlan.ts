/**
 * npx tsx bench/native/writePlan.ts <package dir> [out]  — writes bench/native/plan.json from a
 * synthetic package's prompt layout (all synthetic shapes share the tokenizer and template) and
 * the TypeScript schedules. No GPU needed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputPipeline } from '../../src/engine/inputs';
import { BENCH_QUESTION } from '../nodeTarget';
import { nativePlan } from './plan';

export async function benchLayout(packageDir: string, newTokens = 64) {
  const manifest = JSON.parse(await readFile(join(packageDir, 'manifest.json'), 'utf8'));
  const texts = new Map<string, string>();
  for (const f of manifest.files as { path: string }[]) {
    if (/\.(json|jinja|txt)$/.test(f.path)) texts.set(f.path, await readFile(join(packageDir, f.path), 'utf8'));
  }
  return new InputPipeline(manifest, texts).prepareText(BENCH_QUESTION, newTokens).layout;
}

if (process.argv[1]?.endsWith('writePlan.ts')) {
  const [dir, out = 'bench/native/plan.json'] = process.argv.slice(2);
  const layout = await benchLayout(dir);
  await writeFile(out, JSON.stringify(nativePlan(layout), null, 1) + '\n');
  process.stdout.write(`${out}: pre ${layout.preLength}, visual ${layout.visualCount}, text ${layout.textLength}\n`);
}
