/**
 * The image with the patch heatmap at one layer: live patches tinted by score, dropped ones
 * dimmed, merged groups outlined in their cluster colour. Geometry from explorer.ts.
 */
import { forwardRef, useMemo } from 'react';
import type { ImageFit } from '../../engine/protocol';
import type { RequestTrace } from '../../common/trace';
import { gridFor, groupOutlines, layoutPatches, modelWindow } from './explorer';
import { gridPart, imageFates, patchCount, patchFates, type ImagePart } from './fates';

export interface ExplorerSvgProps {
  trace: RequestTrace;
  /** The picture as the person gave it; only the part the model saw is drawn (see `fit`). */
  image: { url: string; width: number; height: number };
  /** The processor's geometry (ModelInfo.imageFit); null draws the whole picture stretched. */
  fit: ImageFit | null;
  modelGrid: [number, number] | null;
  layer: number;
  size: number;
  highlight?: number | null;
  onHover?: (patch: number | null) => void;
  /**
   * One image of a request with several (trace.images): its tokens are the span's
   * `origin … origin + patches − 1`, the first `leading` (a Video-LLaVA frame's CLS) no patch of
   * the picture; the rest drawn as that image's grid. Absent: the whole visual block.
   */
  part?: ImagePart;
  /** Small multiples skip per-patch test ids and events. */
  thumbnail?: boolean;
  testid?: string;
}

export const ExplorerSvg = forwardRef<SVGSVGElement, ExplorerSvgProps>(function ExplorerSvg(props, ref) {
  const { trace, image, fit, modelGrid, layer, size, highlight, onHover, thumbnail, part } = props;
  // The model's input square is `win` of the picture: place the picture so that `win` fills the SVG.
  const win = modelWindow(image.width, image.height, fit);
  const kx = size / win.w,
    ky = size / win.h;
  const grid = gridFor(part ? gridPart(part).patches : patchCount(trace), modelGrid);
  const cells = useMemo(() => {
    const all = patchFates(trace, layer);
    return layoutPatches(part ? imageFates(all, part) : all, grid, size, all);
  }, [trace, layer, grid[0], grid[1], size, part?.origin, part?.patches, part?.leading]);
  const outlines = useMemo(() => groupOutlines(cells, grid[1]), [cells, grid[1]]);
  const side = cells[0]?.size ?? size;
  const lit = highlight === null || highlight === undefined ? null : cells[highlight];
  return (
    <svg
      ref={ref}
      xmlns="http://www.w3.org/2000/svg"
      width={size}
      height={size}
      viewBox={`0 0 ${size} ${size}`}
      className="explorer-svg"
      data-testid={props.testid}
      role="img"
      aria-label={`Patches at layer ${layer}`}
      onMouseLeave={() => onHover?.(null)}
    >
      <image
        href={image.url}
        x={-win.x * kx}
        y={-win.y * ky}
        width={image.width * kx}
        height={image.height * ky}
        preserveAspectRatio="none"
        data-testid={thumbnail ? undefined : 'explorer.picture'}
      />
      <g>
        {cells.map((c) => (
          <rect
            key={c.patch}
            x={c.x}
            y={c.y}
            width={side}
            height={side}
            // live + scored: heat; dropped: dimmed; live but unscored (no stage yet): clear
            fill={c.fill ?? (c.fate.state === 'dropped' ? '#0b0d12' : 'transparent')}
            fillOpacity={c.fill ? 0.5 : 0.72}
            data-testid={thumbnail ? undefined : 'explorer.patch'}
            data-patch={thumbnail ? undefined : c.patch}
            data-state={thumbnail ? undefined : c.fate.state}
            onMouseEnter={onHover ? () => onHover(c.patch) : undefined}
          />
        ))}
      </g>
      <g fill="none" strokeWidth={Math.max(1, side / 7)} strokeLinecap="square">
        {outlines.map((o) => (
          <path key={o.id} d={o.d} stroke={o.color} data-testid={thumbnail ? undefined : 'explorer.group'} />
        ))}
      </g>
      {lit && (
        <rect
          className="hover-mark"
          x={lit.x}
          y={lit.y}
          width={side}
          height={side}
          fill="none"
          stroke="#fff"
          strokeWidth={2}
          pointerEvents="none"
        />
      )}
    </svg>
  );
});
