/**
 * A conversation as turns (issue 15): the earlier questions and answers above the current
 * answer, and a follow-up box under a finished (or stopped) answer. The follow-up runs as the
 * next turn on the caches the engine kept (store/runs.ts `askFollowUp`).
 */
import { useState } from 'react';
import { askFollowUp, cannotFollowUp } from '../store/runs';
import { useApp } from '../store/store';
import type { Run } from '../store/types';

/** The turns before `run`, oldest first; nothing for a first question. */
export function EarlierTurns({ run }: { run: Run }) {
  if (!run.history?.length) return null;
  return (
    <ol className="turns" data-testid="answer.turns" aria-label="Earlier turns of this conversation">
      {run.history.map((t, i) => (
        <li key={i} className="turn" data-testid="answer.turn" data-turn={i + 1}>
          <p className="turn-question">
            <span className="small muted">Q{i + 1}</span> {t.question}
          </p>
          <p className="turn-answer">
            {t.answer.trim() ? t.answer : <span className="small muted">(the answer decoded to whitespace only)</span>}
          </p>
        </li>
      ))}
    </ol>
  );
}

/** How the engine continued a follow-up, in words (trace.followUp). */
export function FollowUpNote({ run }: { run: Run }) {
  const f = run.trace?.followUp;
  if (!f) return null;
  return (
    <p className="small muted" data-testid="followup.note" data-cache={f.cache}>
      Turn {f.turn}:{' '}
      {f.cache === 'reused'
        ? `${f.newTokens} new tokens prefilled on the ${f.reusedTokens} the engine kept (visual tokens as the first question pruned them).`
        : `the whole conversation was prefilled (${f.reason}).`}
    </p>
  );
}

export function FollowUpBox({ run }: { run: Run }) {
  const [question, setQuestion] = useState('');
  const why = useApp((s) => cannotFollowUp(run, question, s));
  if ((run.status !== 'done' && run.status !== 'stopped') || run.group !== null) return null;
  return (
    <form
      className="followup"
      data-testid="followup"
      onSubmit={(e) => {
        e.preventDefault();
        if (why) return;
        askFollowUp(run.id, question);
        setQuestion('');
      }}
    >
      <label className="field compact" htmlFor="followup-question">
        <span>Follow-up question</span>
        <input
          id="followup-question"
          data-testid="followup.input"
          type="text"
          value={question}
          placeholder="Ask about the same picture…"
          onChange={(e) => setQuestion(e.target.value)}
        />
      </label>
      <button type="submit" data-testid="followup.ask" disabled={why !== null} title={why ?? undefined}>
        Ask follow-up
      </button>
      {why && question.trim() !== '' && (
        <p className="small muted" data-testid="followup.why" role="status">
          {why}
        </p>
      )}
    </form>
  );
}
