/**
 * Score against cost for the Evaluate panel: the layout of src/eval/chart.ts (the CLI's SVG uses
 * the same), axes drawn by d3 through the shared Axis component, one labelled point per method.
 */
import { scaleLinear } from 'd3';
import { useMemo } from 'react';
import { chartPoints, colourFor, panelLayout, type PanelLayout } from '../../eval/chart';
import type { EvalResults, EvalSpeed } from '../../eval/summary';
import { Axis } from '../charts/Axis';

const WIDTH = 360;
const HEIGHT = 260;

function ChartPanel(props: { layout: PanelLayout; testid: string }) {
  const p = props.layout;
  const x = useMemo(() => scaleLinear().domain(p.xDomain).range([0, p.width]), [p]);
  const y = useMemo(() => scaleLinear().domain(p.yDomain).range([p.height, 0]), [p]);
  return (
    <svg
      width="100%"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      className="chart"
      data-testid={props.testid}
      role="img"
      aria-label={`${p.title}: ${p.points.map((pt) => `${pt.method} ${pt.y.toFixed(1)}`).join(', ')}`}
    >
      <text x={p.left + p.width / 2} y={16} textAnchor="middle" className="chart-title">
        {p.title}
      </text>
      <g transform={`translate(${p.left},${p.top})`}>
        <Axis scale={x} orient="bottom" transform={`translate(0,${p.height})`} ticks={5} />
        <Axis scale={y} orient="left" transform="translate(0,0)" ticks={5} />
        <text x={p.width / 2} y={p.height + 34} textAnchor="middle" className="axis-label">
          {p.xLabel}
        </text>
        <text transform={`translate(-42,${p.height / 2}) rotate(-90)`} textAnchor="middle" className="axis-label">
          {p.yLabel}
        </text>
        {p.points.map((pt) => (
          <g key={pt.method} data-testid="eval.point" data-method={pt.method}>
            <circle cx={x(pt.x)} cy={y(pt.y)} r={5} fill={pt.colour}>
              <title>{`${pt.method}: ${pt.y.toFixed(2)} at ${pt.x.toFixed(2)}`}</title>
            </circle>
            <text x={x(pt.x) + 7} y={y(pt.y) - 6} className="point-label" fill={pt.colour}>
              {pt.method}
            </text>
          </g>
        ))}
      </g>
    </svg>
  );
}

export function EvalChart(props: { results: EvalResults; speed: EvalSpeed | null }) {
  const layouts = useMemo(() => {
    const { prefill, flops } = chartPoints(props.results, props.speed);
    const colourOf = colourFor(props.results.methods.map((m) => m.method));
    const yLabel = props.results.methods[0]?.scores.headlineName ?? 'score';
    return [
      panelLayout(prefill, {
        title: 'score against LLM prefill',
        xLabel: 'median prefill (ms)',
        yLabel,
        width: WIDTH,
        height: HEIGHT,
        colourOf,
      }),
      panelLayout(flops, {
        title: 'score against prefill FLOPs',
        xLabel: 'prefill FLOPs (G)',
        yLabel,
        width: WIDTH,
        height: HEIGHT,
        colourOf,
      }),
    ];
  }, [props.results, props.speed]);
  return (
    <figure className="chart-figure eval-charts" data-testid="eval.chart">
      <ChartPanel layout={layouts[0]} testid="eval.chart-prefill" />
      <ChartPanel layout={layouts[1]} testid="eval.chart-flops" />
    </figure>
  );
}
