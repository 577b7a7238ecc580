/** The results as one markdown table: score, retention, cost and speed per method, ratios to none. */
import type { EvalResults, EvalSpeed } from './summary';

const num = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined ? '—' : value.toFixed(digits);
const ratio = (value: number | null | undefined) =>
  value === null || value === undefined ? '' : ` (${value.toFixed(2)}×)`;

export function markdownTable(results: EvalResults, speed: EvalSpeed | null): string {
  const none = results.methods.find((m) => m.method === 'none');
  const head = results.methods[0]?.scores.headlineName ?? 'score';
  const lines = [
    `Evaluation: ${results.format} · ${results.items} items · model ${results.model} · data ${results.data}`,
    `Prompt suffix: ${results.suffix ? `"${results.suffix}"` : '(none)'} · at most ${results.maxNewTokens} new tokens, greedy${speed ? ` · timings: ${speed.machine}` : ''}`,
    '',
    `| method | ${head} | retention vs none | scored / skipped | LLM prefill (ms) | time to first token (ms) | decode (tokens/s) | prefill FLOPs (G) | visual tokens (last stage / layer mean) |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of results.methods) {
    const s = speed?.methods.find((x) => x.method === m.method);
    const flops =
      m.cost.flops === null
        ? '—'
        : `${(m.cost.flops / 1e9).toFixed(2)}${none?.cost.flops ? ratio(m.cost.flops / none.cost.flops) : ''}`;
    lines.push(
      `| ${m.method} | ${num(m.scores.headline, 2)} | ${m.retention === null ? '—' : `${(100 * m.retention).toFixed(1)} %`} | ${m.scores.scored} / ${m.scores.skipped} | ${num(s?.prefillMs)}${ratio(s?.prefillRatio)} | ${num(s?.firstTokenMs)}${ratio(s?.firstTokenRatio)} | ${num(s?.tokensPerS)}${ratio(s?.tokensPerSRatio)} | ${flops} | ${num(m.cost.visualTokensLast, 0)} / ${num(m.cost.equalTokens)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
