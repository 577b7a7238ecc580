/** The Evaluate panel's downloads: the CLI's files (results.json, speed.json, results.md, results.svg). */
import { chartSvg } from '../../eval/chart';
import { markdownTable } from '../../eval/markdown';
import type { EvalResults, EvalSpeed } from '../../eval/summary';
import { download } from '../exportFiles';

export function exportEval(kind: 'json' | 'md' | 'svg', results: EvalResults, speed: EvalSpeed | null): void {
  const base = `eval-${results.format}-${results.data.replace(/[^\w.-]+/g, '_')}`;
  if (kind === 'json') {
    // One document: the scored results and, beside them, the timings of the same requests.
    download(new Blob([JSON.stringify({ results, speed }, null, 2)], { type: 'application/json' }), `${base}.json`);
  } else if (kind === 'md') {
    download(new Blob([markdownTable(results, speed)], { type: 'text/markdown' }), `${base}.md`);
  } else {
    download(
      new Blob([chartSvg(results, speed, `${results.format} · ${results.model} · ${results.items} items`)], {
        type: 'image/svg+xml',
      }),
      `${base}.svg`,
    );
  }
}
