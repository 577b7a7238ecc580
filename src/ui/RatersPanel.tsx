/** The question's tokens shaded by relevance to the image (paper Fig. 3); raters marked. */
import { useApp } from '../store/store';
import { raterTokens } from './charts/raters';
import { Empty, Panel } from './Panel';

/** A token that is only whitespace (the newline after the image, a space) drawn as a sign, not an empty chip. */
const shownToken = (text: string) => (text.trim() ? text : text.includes('\n') ? '⏎' : text ? '␣' : '∅');

export function RatersPanel() {
  const raters = useApp((s) => s.runs.find((r) => r.id === s.currentRunId)?.trace?.raters ?? null);
  return (
    <Panel id="raters" title="Text raters">
      {raters ? (
        <>
          <p className="tokens" data-testid="raters.tokens">
            {raterTokens(raters).map((t) => (
              <span
                key={t.index}
                className={`token ${t.isRater ? 'rater' : ''}`}
                data-testid={t.isRater ? 'raters.rater' : 'raters.token'}
                style={{ ['--shade' as string]: t.shade.toFixed(3) }}
                title={`${JSON.stringify(t.text)} · relevance ${t.relevance.toPrecision(3)}${t.isRater ? ' · rater' : ''}`}
              >
                {shownToken(t.text)}
              </span>
            ))}
          </p>
          <p className="small muted">
            Shade: relevance of each token after the image to the visual tokens. Underlined tokens (above the mean) are
            the raters whose attention scores the visual tokens.
          </p>
        </>
      ) : (
        <Empty testid="raters.empty">
          SparseVLM runs pick the question’s tokens that relate to the image; they appear here, shaded by relevance.
        </Empty>
      )}
    </Panel>
  );
}
