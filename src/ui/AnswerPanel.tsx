/** The streamed answer of the current run, as text (React escapes it: never innerHTML). */
import { useEffect, useState } from 'react';
import { selectRun } from '../store/runs';
import { useApp } from '../store/store';
import type { Run } from '../store/types';
import { clip, formatMs, tokensPerSecond } from './format';
import { EarlierTurns, FollowUpBox, FollowUpNote } from './ConversationTurns';
import { Empty, Panel } from './Panel';

export const STATUS_WORDS: Record<Run['status'], string> = {
  queued: 'Queued',
  running: 'Generating…',
  stopping: 'Stopping…',
  done: 'Done',
  stopped: 'Stopped',
  error: 'Failed',
};

/** Characters of the question echoed above the answer (the whole question is in the input panel). */
const QUESTION_ECHO = 160;

export function RunMetrics({ run, prefix }: { run: Run; prefix: string }) {
  const tps = tokensPerSecond(run);
  return (
    <dl className="metrics" data-testid={`${prefix}.metrics`}>
      <div>
        <dt>First token</dt>
        <dd data-testid={`${prefix}.ttft`}>{formatMs(run.firstTokenMs)}</dd>
      </div>
      <div>
        <dt>Tokens/s</dt>
        <dd data-testid={`${prefix}.tps`}>{tps === null ? '—' : tps.toFixed(1)}</dd>
      </div>
      <div>
        <dt>Total</dt>
        <dd data-testid={`${prefix}.total`}>{formatMs(run.totalMs)}</dd>
      </div>
      <div>
        <dt>Tokens</dt>
        <dd data-testid={`${prefix}.tokens`}>{run.tokenCount}</dd>
      </div>
    </dl>
  );
}

/** Seconds since `since` (performance.now() ms), ticking once a second while shown. */
function useElapsedS(since: number | undefined): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const t = setInterval(() => setNow(performance.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return since === undefined ? 0 : Math.max(0, (now - since) / 1000);
}

/**
 * Before the first token nothing streams, and on a software adapter that can last minutes: say
 * what is happening, for how long so far, and what to expect (the last run with these settings,
 * else the adapter's kind).
 */
function PrefillWait({ run }: { run: Run }) {
  const elapsed = useElapsedS(run.startedAt);
  const software = useApp((s) =>
    Boolean(s.adapter && (s.adapter.software || s.adapter.isFallbackAdapter || s.adapter.backend === 'wasm')),
  );
  const last = useApp(
    (s) =>
      s.runs.find((r) => r.id !== run.id && r.label === run.label && r.status === 'done' && r.firstTokenMs !== null) ??
      s.runs.find((r) => r.id !== run.id && r.status === 'done' && r.firstTokenMs !== null),
  );
  const expect = last
    ? `The last ${last.label === run.label ? 'run with these settings' : `run (${last.label})`} had its first token after ${formatMs(last.firstTokenMs)}.`
    : software
      ? 'This adapter runs on the CPU: the first token takes from about 20 s (pruned) to 2 minutes (unpruned); the rest follow at about one a second.'
      : '';
  return (
    <p className="small muted" data-testid="answer.wait" role="status">
      Reading the image and the question (vision encoder and prefill): {Math.floor(elapsed)} s so far. {expect}
    </p>
  );
}

export function AnswerPanel() {
  const run = useApp((s) => s.runs.find((r) => r.id === s.currentRunId) ?? null);
  const history = useApp((s) => s.runs);
  const error = useApp((s) => s.errors.answer);
  const synthetic = useApp((s) => s.info?.synthetic ?? false);
  const modelReady = useApp((s) => s.status === 'ready');
  return (
    <Panel
      id="answer"
      title="Answer"
      error={error}
      aside={
        run && (
          <span className={`pill ${run.status}`} data-testid="answer.status" data-status={run.status}>
            {run.status === 'queued' && !modelReady ? 'Waiting for the model' : STATUS_WORDS[run.status]}
          </span>
        )
      }
    >
      {run ? (
        <>
          <EarlierTurns run={run} />
          <p
            className="small muted answer-label"
            data-testid="answer.label"
            title={run.question.length > QUESTION_ECHO ? run.question : undefined}
          >
            {run.label} · “{clip(run.question, QUESTION_ECHO)}”
          </p>
          <p className="answer-text" data-testid="answer.text" aria-live="polite">
            {run.text}
            {run.status === 'running' && <span className="caret" aria-hidden="true" />}
          </p>
          {run.tokenCount > 0 && run.text.trim() === '' && (run.status === 'done' || run.status === 'stopped') && (
            <p className="small muted" data-testid="answer.blank">
              The {run.tokenCount} tokens of this answer decode to whitespace only
              {synthetic ? ' (the bundled model has random weights)' : ''}.
            </p>
          )}
          {run.status === 'running' && run.tokenCount === 0 && <PrefillWait run={run} />}
          {run.status === 'queued' && !modelReady && (
            <p className="small muted" data-testid="answer.queued" role="status">
              The model is still loading: this question runs as soon as it is ready.
            </p>
          )}
          <RunMetrics run={run} prefix="answer" />
          <FollowUpNote run={run} />
          <FollowUpBox run={run} />
        </>
      ) : (
        <Empty testid="answer.empty">
          The answer streams here, token by token, with time to first token and decode speed.
        </Empty>
      )}
      {history.length > 1 && (
        <label className="field compact" htmlFor="run-history">
          <span>Earlier runs</span>
          <select
            id="run-history"
            data-testid="answer.history"
            value={run?.id ?? ''}
            onChange={(e) => selectRun(Number(e.target.value))}
          >
            {history.map((r) => (
              <option key={r.id} value={r.id}>
                #{r.id} {r.label} — {r.question.slice(0, 40)} ({STATUS_WORDS[r.status]})
              </option>
            ))}
          </select>
        </label>
      )}
    </Panel>
  );
}
