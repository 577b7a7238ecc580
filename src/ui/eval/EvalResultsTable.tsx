/** Per method: the benchmark's score, retention against none, skips, speed and cost (ratios to none). */
import type { EvalResults, EvalSpeed } from '../../eval/summary';
import { formatCount, formatMs } from '../format';

const ratio = (value: number | null | undefined) =>
  value === null || value === undefined ? '' : ` (${value.toFixed(2)}×)`;

export function EvalResultsTable(props: { results: EvalResults; speed: EvalSpeed | null }) {
  const none = props.results.methods.find((m) => m.method === 'none');
  return (
    <div className="table-scroll">
      <table className="eval-table" data-testid="eval.table">
        <thead>
          <tr>
            <th>method</th>
            <th>{props.results.methods[0]?.scores.headlineName ?? 'score'}</th>
            <th>retention</th>
            <th>scored / skipped</th>
            <th>prefill</th>
            <th>first token</th>
            <th>decode</th>
            <th>FLOPs</th>
            <th>visual tokens</th>
          </tr>
        </thead>
        <tbody>
          {props.results.methods.map((m) => {
            const s = props.speed?.methods.find((x) => x.method === m.method);
            return (
              <tr key={m.method} data-testid="eval.row" data-method={m.method}>
                <th scope="row">{m.method}</th>
                <td data-testid="eval.score">{m.scores.scored ? m.scores.headline.toFixed(2) : '—'}</td>
                <td>{m.retention === null ? '—' : `${(100 * m.retention).toFixed(1)} %`}</td>
                <td data-testid="eval.counts">
                  {m.scores.scored} / {m.scores.skipped}
                </td>
                <td>
                  {formatMs(s?.prefillMs ?? null)}
                  {ratio(s?.prefillRatio)}
                </td>
                <td>
                  {formatMs(s?.firstTokenMs ?? null)}
                  {ratio(s?.firstTokenRatio)}
                </td>
                <td>{s?.tokensPerS ? `${s.tokensPerS.toFixed(1)} tok/s` : '—'}</td>
                <td>
                  {m.cost.flops === null
                    ? '—'
                    : `${formatCount(m.cost.flops)}${none?.cost.flops ? ratio(m.cost.flops / none.cost.flops) : ''}`}
                </td>
                <td>{m.cost.visualTokensLast ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The skipped items and their reasons (first few), so a bad folder is visible where one looks. */
export function SkippedList(props: { results: EvalResults }) {
  const skipped = props.results.methods[0]?.records.filter((r) => r.skipped) ?? [];
  if (skipped.length === 0) return null;
  return (
    <details className="small" data-testid="eval.skipped">
      <summary>
        {skipped.length} item{skipped.length === 1 ? '' : 's'} skipped
      </summary>
      <ul>
        {skipped.slice(0, 20).map((r) => (
          <li key={r.id}>
            <code>{r.id}</code>: {r.skipped}
          </li>
        ))}
      </ul>
    </details>
  );
}
