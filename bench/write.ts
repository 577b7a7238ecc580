/** Write a BenchResult as its three files: JSON, markdown, SVG (same stem). */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { markdownReport, type BenchResult } from './result';
import { chartLayout, renderSvg } from './svg';

export function resultStem(
  r: Pick<BenchResult, 'date' | 'where' | 'shape'> & { options?: BenchResult['options'] },
): string {
  const video = r.options?.video ? `-${r.options.video.frames}frames` : '';
  return `${r.date.slice(0, 10)}-${r.where}-${r.shape}${video}`;
}

export async function writeResult(r: BenchResult, outDir: string): Promise<{ json: string; md: string; svg: string }> {
  await mkdir(outDir, { recursive: true });
  const stem = join(outDir, resultStem(r));
  const paths = { json: `${stem}.json`, md: `${stem}.md`, svg: `${stem}.svg` };
  // Written aside then renamed: the GPU run rewrites these after every round and may be killed.
  const put = async (path: string, text: string) => {
    await writeFile(`${path}.part`, text);
    await rename(`${path}.part`, path);
  };
  await put(paths.json, JSON.stringify(r, null, 1) + '\n');
  await put(paths.md, markdownReport(r) + '\n');
  const title = `${r.where} · ${r.shape} ${r.dtype} · ${r.environment.adapter.architecture || r.environment.adapter.backend} · ${r.date.slice(0, 10)}`;
  await put(paths.svg, renderSvg(chartLayout(r.methods, title)));
  return paths;
}
