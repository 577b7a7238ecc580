import { useMemo } from 'react';
import { Axis } from './Axis';
import { layoutPhaseBars, PHASE_COLORS, PHASES, type Phase, type Size } from './cost';

const MARGIN = { top: 8, right: 16, bottom: 30, left: 150 };
/** Above this many ms the axis counts seconds: "150,000" and "200,000" ran into each other at phone width. */
const SECONDS_FROM_MS = 10_000;
const inSeconds = (ms: number) => String(ms / 1000);

export function PhaseBarsChart(props: { rows: { label: string; phases: Record<Phase, number> }[]; width?: number }) {
  const height = 40 + props.rows.length * 30;
  const size: Size = { width: props.width ?? 460, height, margin: MARGIN };
  const layout = useMemo(() => layoutPhaseBars(props.rows, size), [props.rows, size.width, size.height]);
  const seconds = layout.x.domain()[1]! >= SECONDS_FROM_MS;
  return (
    <figure className="chart-figure">
      <svg
        width="100%"
        viewBox={`0 0 ${size.width} ${size.height}`}
        className="chart"
        data-testid="cost.phase-chart"
        role="img"
        aria-label="Time per phase, one stacked bar per run"
      >
        <Axis
          scale={layout.x}
          orient="bottom"
          transform={`translate(0,${height - MARGIN.bottom})`}
          ticks={5}
          tickFormat={seconds ? inSeconds : undefined}
        />
        {layout.bars.map((b) => (
          <g key={b.label}>
            <text x={MARGIN.left - 8} y={b.y + b.height / 2} dy="0.32em" textAnchor="end" className="bar-label">
              {b.label}
            </text>
            {b.segments.map((s) => (
              <rect key={s.phase} x={s.x} y={b.y} width={Math.max(0, s.width)} height={b.height} fill={s.color}>
                <title>{`${s.phase}: ${s.ms.toFixed(1)} ms`}</title>
              </rect>
            ))}
          </g>
        ))}
        {/* The unit left of the axis, under the bar labels: at the right end it sat on the last tick. */}
        <text x={MARGIN.left - 8} y={height - MARGIN.bottom + 9} dy="0.71em" textAnchor="end" className="axis-label">
          {seconds ? 'time (s)' : 'time (ms)'}
        </text>
      </svg>
      <figcaption className="legend small">
        {PHASES.map((p) => (
          <span key={p}>
            <span className="swatch" style={{ background: PHASE_COLORS[p] }} /> {p}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
