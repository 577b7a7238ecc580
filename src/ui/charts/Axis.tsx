/** A d3 axis drawn into a <g> through a ref: the only place d3 touches the DOM. */
import { axisBottom, axisLeft, select, type AxisDomain, type AxisScale } from 'd3';
import { useEffect, useRef } from 'react';

export function Axis<D extends AxisDomain>(props: {
  scale: AxisScale<D>;
  orient: 'bottom' | 'left';
  transform: string;
  ticks?: number;
  label?: string;
  /** Tick text (d3's default otherwise). */
  tickFormat?: (d: D) => string;
}) {
  const ref = useRef<SVGGElement>(null);
  const { scale, orient, ticks, tickFormat } = props;
  useEffect(() => {
    if (!ref.current) return;
    const axis = orient === 'bottom' ? axisBottom(scale) : axisLeft(scale);
    if (ticks !== undefined) axis.ticks(ticks);
    if (tickFormat) axis.tickFormat(tickFormat);
    select(ref.current)
      .call(axis)
      .call((g) => g.select('.domain').attr('stroke', 'currentColor').attr('stroke-opacity', 0.4));
  }, [scale, orient, ticks, tickFormat]);
  return <g ref={ref} transform={props.transform} className="axis" />;
}
