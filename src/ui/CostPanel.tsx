/** What pruning saved: tokens per layer, time per phase, FLOPs and KV bytes against unpruned. */
import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { formatBytes } from '../store/progress';
import { useApp } from '../store/store';
import type { AppState, Run } from '../store/types';
import type { RequestTrace } from '../common/trace';
import { costSummary, phaseTimes } from './charts/cost';
import { imageTokenLayers } from './charts/fates';
import { PhaseBarsChart } from './charts/PhaseBarsChart';
import { TokenLinesChart } from './charts/TokenLinesChart';
import { formatCount } from './format';
import { Empty, Panel } from './Panel';

/** Finished runs on the current run's image and question, newest per settings, current first. */
export function comparableRuns(state: AppState): Run[] {
  const current = state.runs.find((r) => r.id === state.currentRunId);
  if (!current?.trace) return [];
  const prefix = current.key.split('|').slice(0, 2).join('|') + '|';
  const byLabel = new Map<string, Run>();
  for (const r of state.runs) {
    if (r.id === current.id || !r.trace || r.status !== 'done' || !r.key.startsWith(prefix)) continue;
    if (r.label !== current.label && !byLabel.has(r.label)) byLabel.set(r.label, r); // runs are newest first
  }
  const others = [...byLabel.values()];
  return [current, ...others];
}

function Ratio({
  value,
  testid,
  label,
  now,
  base,
}: {
  value: number;
  testid: string;
  label: string;
  now: string;
  base: string;
}) {
  return (
    <div className="figure-card" data-testid={testid} data-ratio={value.toFixed(4)}>
      <span className="small muted">{label}</span>
      <strong>{(value * 100).toFixed(1)}%</strong>
      <span className="small">
        {now} of {base} unpruned
      </span>
      <span className="meter">
        <span style={{ width: `${Math.min(1, value) * 100}%` }} />
      </span>
    </div>
  );
}

/**
 * Several images or frames: how much of each one's visual work is left, as tokens carrying its
 * patches summed over the layers against its patches × layers (what the KV cache and the
 * layers' visual FLOPs scale with).
 */
function PerImage({ trace }: { trace: RequestTrace }) {
  const rows = useMemo(() => imageTokenLayers(trace), [trace]);
  if (rows.length === 0) return null;
  const video = rows.some((r) => r.frame);
  return (
    <figure className="chart-figure per-image" data-testid="cost.per-image">
      <figcaption className="small">
        Visual tokens per {video ? 'frame' : 'image'}, summed over the {trace.visualPerLayer.length} layers, against
        unpruned
        <span className="muted">
          {' '}
          (a token merged from two {video ? 'frames' : 'images'} counts for both
          {trace.images?.some((im) => (im.leading ?? 0) > 0)
            ? "; each frame's CLS token counts as one of its tokens"
            : ''}
          )
        </span>
      </figcaption>
      <ol className="per-image-rows">
        {rows.map((r, k) => (
          <li key={k} className="per-image-row" data-testid="cost.per-image.row" data-share={r.share.toFixed(4)}>
            <span className="small per-image-name" title={r.name}>
              {video ? `${k + 1}. ${r.name.replace(/^.* @ /, '')}` : `${k + 1}. ${r.name}`}
            </span>
            <span className="meter">
              <span style={{ width: `${Math.min(1, r.share) * 100}%` }} />
            </span>
            <strong className="small">{(r.share * 100).toFixed(1)}%</strong>
          </li>
        ))}
      </ol>
    </figure>
  );
}

export function CostPanel() {
  const runs = useApp(useShallow(comparableRuns));
  const current = runs[0];
  if (!current?.trace) {
    return (
      <Panel id="cost" title="Cost">
        <Empty testid="cost.empty">
          FLOPs, KV-cache bytes and time per phase of each run appear here, against the unpruned model.
        </Empty>
      </Panel>
    );
  }
  const c = costSummary(current.trace);
  const series = runs.map((r) => ({ label: r.label, values: r.trace!.visualPerLayer }));
  // Decode time grows with the answer: each bar says how many tokens its run generated.
  const rows = runs.map((r) => ({ label: `${r.label} · ${r.tokenCount} tok`, phases: phaseTimes(r.trace!) }));
  const lengths = new Set(runs.map((r) => r.tokenCount));
  return (
    <Panel
      id="cost"
      title="Cost"
      aside={
        <span className="small muted">
          {current.label} · {current.trace.timings.clock === 'gpu-timestamp' ? 'GPU timestamps' : 'wall clock'}
        </span>
      }
    >
      <div className="figures">
        <Ratio
          testid="cost.flops"
          label="Prefill FLOPs"
          value={c.flopsRatio}
          now={formatCount(c.flops)}
          base={formatCount(c.flopsUnpruned)}
        />
        <Ratio
          testid="cost.kv"
          label="KV cache"
          value={c.kvRatio}
          now={formatBytes(c.kvBytes)}
          base={formatBytes(c.kvBytesUnpruned)}
        />
      </div>
      {current.trace.images && <PerImage trace={current.trace} />}
      <div className="charts">
        <figure className="chart-figure">
          <figcaption className="small">Visual tokens entering each layer</figcaption>
          <TokenLinesChart series={series} />
        </figure>
        <figure className="chart-figure">
          <figcaption className="small" data-testid="cost.phase-caption">
            Time per phase
            {lengths.size > 1
              ? ' · the answers differ in length, so compare decode per token, or the prefill phases'
              : ''}
          </figcaption>
          <PhaseBarsChart rows={rows} />
        </figure>
      </div>
    </Panel>
  );
}
