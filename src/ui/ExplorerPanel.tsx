/**
 * Layer explorer: which patches survive where. A layer slider, small multiples of the
 * stages, hover (or arrow keys) on a patch for its score, rank and fate.
 */
import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { askedAboutShown } from '../store/runs';
import { setLayer } from '../store/settings';
import { useApp } from '../store/store';
import { ExplorerSvg, type ExplorerSvgProps } from './charts/ExplorerSvg';
import { describeWindow, gridFor, heatFill, modelWindow, movePatch, stageLayers } from './charts/explorer';
import type { TraceImage } from '../common/trace';
import type { InputImage } from '../store/types';
import {
  describeFate,
  gridPart,
  groupSizes,
  imageCounts,
  leadingFates,
  patchCount,
  patchFates,
  tokensAtLayer,
  type PatchFate,
} from './charts/fates';
import { exportPng, exportRunJson, exportSvg } from './exportFiles';
import { Empty, Panel } from './Panel';

const SIZE = 336;
const THUMB = 88;

/** A heatmap's side for several images: two side by side, more (a video's frames) on a timeline. */
const partSize = (count: number) => (count <= 2 ? 200 : count <= 4 ? 116 : 96);

/** What the pointer is on in a heatmap of several: a grid patch of image `image`, or its leading token `patch` (CLS). */
type PartHover = { image: number; patch: number; leading?: boolean };

/** The span token under a PartHover (trace.images: CLS at origin + i, grid patch p at origin + leading + p). */
const hoveredToken = (parts: TraceImage[], at: PartHover) =>
  at.leading ? parts[at.image].origin + at.patch : gridPart(parts[at.image]).origin + at.patch;

/**
 * A frame's CLS token (Video-LLaVA keeps it first in each frame's tokens): no place on the
 * picture, so a mark beside it, filled like the grid (heat when live and scored, dark when
 * dropped, outlined when merged), with its fate in words.
 */
function LeadingMark({
  fate,
  fill,
  onHover,
}: {
  fate: PatchFate;
  fill: string | null;
  onHover: (on: boolean) => void;
}) {
  return (
    <span
      className={`leading-mark ${fate.state}`}
      data-testid="explorer.image.cls"
      data-state={fate.state}
      title={describeFate(fate, undefined, 'frame token (CLS)')}
      onMouseEnter={() => onHover(true)}
      onMouseLeave={() => onHover(false)}
    >
      <span
        className={`swatch ${fate.state === 'kept' ? '' : fate.state}`}
        style={fill ? { background: fill } : undefined}
      />
      CLS {fate.state}
    </span>
  );
}

/**
 * Several images or frames (trace.images): one heatmap each at the chosen layer, in prompt
 * order (for a video, a timeline), each captioned with the tokens it still holds there (a
 * Video-LLaVA frame's grid from its token 1 on, its CLS token as a mark in the caption).
 */
function ImageHeatmaps({
  traceImages,
  images,
  fates,
  onHover,
  hover,
  ...svg
}: {
  traceImages: TraceImage[];
  images: InputImage[];
  fates: PatchFate[];
  onHover: (at: PartHover | null) => void;
  hover: PartHover | null;
} & Pick<ExplorerSvgProps, 'trace' | 'fit' | 'modelGrid' | 'layer'>) {
  const video = traceImages.some((im) => im.frame);
  const size = partSize(traceImages.length);
  const heat = heatFill(fates);
  return (
    <div
      className={`image-heatmaps ${video ? 'timeline' : ''}`}
      data-testid="explorer.images"
      role="list"
      aria-label={video ? 'Frames on a timeline' : 'Images in prompt order'}
    >
      {traceImages.map((im, k) => {
        const counts = imageCounts(fates, im);
        const leading = leadingFates(fates, im);
        const picture = images[k];
        const where = video ? `${(picture?.frame?.timeS ?? 0).toFixed(2)} s` : `${k + 1}. ${im.name}`;
        return (
          <figure
            key={k}
            className="image-heatmap"
            role="listitem"
            data-testid="explorer.image"
            data-index={k}
            data-kept={counts.kept}
            data-merged={counts.merged}
            data-dropped={counts.dropped}
            data-cls={leading.map((f) => f.state).join(',') || undefined}
          >
            {picture && (
              <ExplorerSvg
                {...svg}
                image={picture}
                part={im}
                size={size}
                testid={`explorer.image.${k}`}
                highlight={hover?.image === k && !hover.leading ? hover.patch : null}
                onHover={(p) => onHover(p === null ? null : { image: k, patch: p })}
              />
            )}
            <figcaption className="small" title={im.name} style={{ maxWidth: size }}>
              <strong>{where}</strong>
              <span className="muted">
                {counts.kept} kept{counts.merged ? `, ${counts.merged} merged` : ''} of {gridPart(im).patches}
              </span>
              {leading.map((f, i) => (
                <LeadingMark
                  key={i}
                  fate={f}
                  fill={heat(f)}
                  onHover={(on) => onHover(on ? { image: k, patch: i, leading: true } : null)}
                />
              ))}
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}

export function ExplorerPanel() {
  const run = useApp((s) => s.runs.find((r) => r.id === s.currentRunId) ?? null);
  const image = useApp((s) => s.image);
  const images = useApp((s) => s.images);
  const info = useApp((s) => s.info);
  const storedLayer = useApp((s) => s.layer);
  const [hover, setHover] = useState<number | null>(null);
  const [partHover, setPartHover] = useState<PartHover | null>(null);
  const [cursor, setCursor] = useState(0);
  const svgRef = useRef<SVGSVGElement>(null);
  const trace = run?.trace ?? null;

  const numLayers = trace ? trace.visualPerLayer.length : 0;
  const layer = Math.min(storedLayer, Math.max(0, numLayers - 1));
  const fates = useMemo(() => (trace ? patchFates(trace, layer) : []), [trace, layer]);
  const sizes = useMemo(() => groupSizes(fates), [fates]);
  if (!trace || !run || !image) {
    return (
      <Panel id="explorer" title="Layer explorer">
        <Empty testid="explorer.empty">
          After a run, this shows the image with each patch’s score and whether it survives, layer by layer.
        </Empty>
      </Panel>
    );
  }
  if (!askedAboutShown(run, { images })) {
    return (
      <Panel id="explorer" title="Layer explorer">
        <Empty testid="explorer.other-image">
          {trace.images
            ? `This run was asked about ${run.imageName}, not what is shown now; open it with Show under Saved runs to put its images back in order (runs saved before saved runs kept every image have none: give them again, in the same order).`
            : `This run was asked about ${run.imageName}, not the image shown now; open it with Show under Saved runs to see its patches.`}
        </Empty>
      </Panel>
    );
  }
  const parts = trace.images ?? null;
  const grid = gridFor(patchCount(trace), info?.gridSize ?? null);
  const seen = describeWindow(image.width, image.height, modelWindow(image.width, image.height, info?.imageFit));
  const tokens = tokensAtLayer(trace, layer).length;
  const stages = stageLayers(
    trace.stages.map((s) => s.layer),
    numLayers,
  );
  const shown = hover ?? cursor;
  const fate = parts ? (partHover ? fates[hoveredToken(parts, partHover)] : undefined) : fates[shown];
  const fateWords = !fate
    ? parts
      ? 'Point at a patch for its score and fate.'
      : ''
    : parts && partHover
      ? `${parts[partHover.image].frame ? 'frame' : 'image'} ${partHover.image + 1}, ${describeFate({ ...fate, patch: partHover.patch }, fate.token === null ? undefined : sizes.get(fate.token), partHover.leading ? 'frame token (CLS)' : undefined)}`
      : describeFate(fate, fate.token === null ? undefined : sizes.get(fate.token));
  const between = parts ? patchCount(trace) - parts.reduce((n, im) => n + im.patches, 0) : 0;
  const withCls = parts?.some((im) => (im.leading ?? 0) > 0) ?? false;
  const onKey = (e: KeyboardEvent) => {
    const next = movePatch(cursor, e.key, grid);
    if (next !== cursor || e.key.startsWith('Arrow')) {
      e.preventDefault();
      setCursor(next);
      setHover(null);
    }
  };
  const name = `explorer-run${run.id}-layer${layer}`;
  const caption = `${run.label} · ${tokens} visual tokens entering layer ${layer} of ${numLayers - 1} · ${run.imageName}`;
  return (
    <Panel
      id="explorer"
      title="Layer explorer"
      aside={
        <div className="row tight">
          <button
            type="button"
            className="ghost small-button"
            data-testid="explorer.export.json"
            onClick={() => exportRunJson(run)}
          >
            JSON
          </button>
          {!parts && (
            <button
              type="button"
              className="ghost small-button"
              data-testid="explorer.export.svg"
              onClick={() => svgRef.current && void exportSvg(svgRef.current, image, name, caption)}
            >
              SVG
            </button>
          )}
          {!parts && (
            <button
              type="button"
              className="ghost small-button"
              data-testid="explorer.export.png"
              onClick={() => svgRef.current && void exportPng(svgRef.current, image, name, caption)}
            >
              PNG
            </button>
          )}
        </div>
      }
    >
      {parts && (
        <ImageHeatmaps
          traceImages={parts}
          images={images}
          fates={fates}
          trace={trace}
          fit={info?.imageFit ?? null}
          modelGrid={info?.gridSize ?? null}
          layer={layer}
          hover={partHover}
          onHover={setPartHover}
        />
      )}
      <div className="explorer">
        {!parts && (
          <div
            className="explorer-main"
            tabIndex={0}
            onKeyDown={onKey}
            aria-label="Patch grid: arrow keys move between patches"
            data-testid="explorer.grid"
          >
            <ExplorerSvg
              ref={svgRef}
              trace={trace}
              image={image}
              fit={info?.imageFit ?? null}
              modelGrid={info?.gridSize ?? null}
              layer={layer}
              size={SIZE}
              highlight={shown}
              onHover={setHover}
              testid="explorer.svg"
            />
          </div>
        )}
        <div className="explorer-side">
          <p className="big-figure">
            <span data-testid="explorer.count">{tokens}</span>{' '}
            <span className="small muted">visual tokens entering layer {layer}</span>
          </p>
          {seen && !parts && (
            <p className="small muted" data-testid="explorer.crop-note">
              Drawn over what the model saw: {seen}.
            </p>
          )}
          {parts && (
            <p className="small muted" data-testid="explorer.span-note">
              {parts.length} {parts.some((im) => im.frame) ? 'frames' : 'images'} pruned together as one visual block of{' '}
              {patchCount(trace)} tokens
              {between > 0 ? ` (with the ${between} template tokens between them, pruned like patches)` : ''}
              {withCls ? ` (each frame's CLS token first, then its ${gridPart(parts[0]).patches} patches)` : ''}; the
              colour scale is shared.
            </p>
          )}
          <label className="field" htmlFor="layer-slider">
            <span>
              Layer {layer} of {numLayers - 1}
            </span>
            <input
              id="layer-slider"
              type="range"
              min={0}
              max={numLayers - 1}
              value={layer}
              data-testid="explorer.layer"
              onChange={(e) => setLayer(Number(e.target.value))}
            />
          </label>
          <p className="fate" data-testid="explorer.fate" data-state={fate?.state} aria-live="polite">
            {fateWords}
          </p>
          <ul className="legend small">
            <li>
              <span className="swatch heat" /> score (low → high)
            </li>
            <li>
              <span className="swatch dropped" /> dropped
            </li>
            <li>
              <span className="swatch merged" /> merged group (each in its own colour)
            </li>
            {withCls && (
              <li data-testid="explorer.legend.cls">
                <span className="swatch leading" /> frame token (CLS), beside each frame: kept / merged / dropped
              </li>
            )}
          </ul>
          <p className="small muted" data-testid="explorer.means">
            Visual tokens per layer, on average: {trace.equalTokens.toFixed(1)} leaving each layer
            {run.settings.budget !== undefined ? ` (what the budget of ${run.settings.budget} counts)` : ''},{' '}
            {trace.meanVisualIn.toFixed(1)} entering it (layer 0 takes all {patchCount(trace)})
          </p>
        </div>
      </div>
      <div className="multiples" role="list" aria-label="Pruning stages">
        {stages.map((l) => (
          <button
            key={l}
            type="button"
            role="listitem"
            className={`multiple ${l === layer ? 'on' : ''}`}
            data-testid={`explorer.stage.${l}`}
            aria-pressed={l === layer}
            onClick={() => setLayer(l)}
          >
            {!parts && (
              <ExplorerSvg
                trace={trace}
                image={image}
                fit={info?.imageFit ?? null}
                modelGrid={info?.gridSize ?? null}
                layer={l}
                size={THUMB}
                thumbnail
              />
            )}
            <span className="small">
              layer {l} · <strong data-testid={`explorer.stage.${l}.count`}>{tokensAtLayer(trace, l).length}</strong>
            </span>
          </button>
        ))}
      </div>
    </Panel>
  );
}
