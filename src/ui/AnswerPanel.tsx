/** The streamed answer of the current run, as text (React escapes it: never innerHTML). */
import { selectRun } from '../store/runs';
import { useApp } from '../store/store';
import type { Run } from '../store/types';
import { clip, formatMs, tokensPerSecond } from './format';
import { Empty, Panel } from './Panel';

export const STATUS_WORDS: Record<Run['status'], string> = {
  queued: 'Queued', running: 'Generating…', stopping: 'Stopping…', done: 'Done', stopped: 'Stopped', error: 'Failed',
};

/** Characters of the question echoed above the answer (the whole question is in the input panel). */
const QUESTION_ECHO = 160;

export function RunMetrics({ run, prefix }: { run: Run; prefix: string }) {
  const tps = tokensPerSecond(run);
  return (
    <dl className="metrics" data-testid={`${prefix}.metrics`}>
      <div><dt>First token</dt><dd data-testid={`${prefix}.ttft`}>{formatMs(run.firstTokenMs)}</dd></div>
      <div><dt>Tokens/s</dt><dd data-testid={`${prefix}.tps`}>{tps === null ? '—' : tps.toFixed(1)}</dd></div>
      <div><dt>Total</dt><dd data-testid={`${prefix}.total`}>{formatMs(run.totalMs)}</dd></div>
      <div><dt>Tokens</dt><dd data-testid={`${prefix}.tokens`}>{run.tokenCount}</dd></div>
    </dl>
  );
}

export function AnswerPanel() {
  const run = useApp((s) => s.runs.find((r) => r.id === s.currentRunId) ?? null);
  const history = useApp((s) => s.runs);
  const error = useApp((s) => s.errors.answer);
  const synthetic = useApp((s) => s.info?.synthetic ?? false);
  const modelReady = useApp((s) => s.status === 'ready');
  return (
    <Panel id="answer" title="Answer" error={error} aside={run && <span className={`pill ${run.status}`} data-testid="answer.status" data-status={run.status}>{run.status === 'queued' && !modelReady ? 'Waiting for the model' : STATUS_WORDS[run.status]}</span>}>
      {run ? (
        <>
          <p className="small muted answer-label" data-testid="answer.label" title={run.question.length > QUESTION_ECHO ? run.question : undefined}>
            {run.label} · “{clip(run.question, QUESTION_ECHO)}”
          </p>
          <p className="answer-text" data-testid="answer.text" aria-live="polite">{run.text}{run.status === 'running' && <span className="caret" aria-hidden="true" />}</p>
          {run.tokenCount > 0 && run.text.trim() === '' && (run.status === 'done' || run.status === 'stopped') && (
            <p className="small muted" data-testid="answer.blank">
              The {run.tokenCount} tokens of this answer decode to whitespace only{synthetic ? ' (the bundled model has random weights)' : ''}.
            </p>
          )}
          <RunMetrics run={run} prefix="answer" />
        </>
      ) : (
        <Empty testid="answer.empty">The answer streams here, token by token, with time to first token and decode speed.</Empty>
      )}
      {history.length > 1 && (
        <label className="field compact" htmlFor="run-history">
          <span>Earlier runs</span>
          <select id="run-history" data-testid="answer.history" value={run?.id ?? ''} onChange={(e) => selectRun(Number(e.target.value))}>
            {history.map((r) => <option key={r.id} value={r.id}>#{r.id} {r.label} — {r.question.slice(0, 40)} ({STATUS_WORDS[r.status]})</option>)}
          </select>
        </label>
      )}
    </Panel>
  );
}
