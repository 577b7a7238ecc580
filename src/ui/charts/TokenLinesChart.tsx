import { useMemo } from 'react';
import { Axis } from './Axis';
import { layoutTokenLines, type Size } from './cost';

// Right: room for the longest end label at 11 px ("SparseVLM v2 64 · 18", ~135 px); 96 cut it off.
const MARGIN = { top: 12, right: 140, bottom: 30, left: 44 };

export function TokenLinesChart(props: {
  series: { label: string; values: number[] }[];
  width?: number;
  height?: number;
}) {
  const size: Size = { width: props.width ?? 460, height: props.height ?? 200, margin: MARGIN };
  const layout = useMemo(() => layoutTokenLines(props.series, size), [props.series, size.width, size.height]);
  return (
    <svg
      width="100%"
      viewBox={`0 0 ${size.width} ${size.height}`}
      className="chart"
      data-testid="cost.tokens-chart"
      role="img"
      aria-label="Visual tokens entering each layer, one line per run"
    >
      <Axis
        scale={layout.x}
        orient="bottom"
        transform={`translate(0,${size.height - MARGIN.bottom})`}
        ticks={Math.min(8, layout.x.domain()[1])}
      />
      <Axis scale={layout.y} orient="left" transform={`translate(${MARGIN.left},0)`} ticks={5} />
      {/* Beside the last tick, on the tick labels' line (under it, it ran into "30"). Whole layers only: no 0.5 ticks. */}
      <text x={size.width - MARGIN.right + 8} y={size.height - MARGIN.bottom + 9} dy="0.71em" className="axis-label">
        layer
      </text>
      {layout.lines.map((l) => (
        <g key={l.label}>
          <path d={l.d} fill="none" stroke={l.color} strokeWidth={2} />
          {Math.abs(l.labelY - l.last.y) > 1 && (
            <path d={`M${l.last.x + 1},${l.last.y}L${l.last.x + 5},${l.labelY}`} stroke={l.color} fill="none" />
          )}
          <text
            x={l.last.x + 6}
            y={l.labelY}
            dy="0.32em"
            fill={l.color}
            className="line-label"
            data-testid="cost.line-label"
          >
            {l.label} · {l.last.value}
          </text>
        </g>
      ))}
    </svg>
  );
}
