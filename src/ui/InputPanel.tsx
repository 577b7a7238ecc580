/**
 * The images (drop, pick, paste, or a sample) with the patch grid, or a video sampled to N
 * frames in the page, and the question. Several images keep the order shown (move, remove).
 */
import { useState, type DragEvent } from 'react';
import {
  clearVideo,
  EXAMPLE_QUESTIONS,
  loadSample,
  moveImage,
  putFiles,
  removeImage,
  setFrameCount,
  setQuestion,
} from '../store/input';
import { ask, cannotAsk, isActive, setCompareEnabled, stop } from '../store/runs';
import { useApp } from '../store/store';
import { describeWindow, gridFor, modelWindow, type PictureWindow } from './charts/explorer';
import { tokenBreakdown } from './format';
import { Panel } from './Panel';

export const SAMPLES = [
  { path: '/samples/shapes.png', name: 'shapes.png', label: 'Shapes' },
  { path: '/samples/landscape.png', name: 'landscape.png', label: 'Landscape' },
  { path: '/samples/chart.png', name: 'chart.png', label: 'Bar chart' },
] as const;

/**
 * The patch grid over the part of the picture the model sees (`win`, in the picture's pixels);
 * what the processor crops away is dimmed, so a wide photo shows which part is answered about.
 */
function PatchGrid({
  rows,
  cols,
  width,
  height,
  win,
}: {
  rows: number;
  cols: number;
  width: number;
  height: number;
  win: PictureWindow;
}) {
  const lines: string[] = [];
  for (let c = 1; c < cols; c++) lines.push(`M${win.x + (c * win.w) / cols},${win.y}v${win.h}`);
  for (let r = 1; r < rows; r++) lines.push(`M${win.x},${win.y + (r * win.h) / rows}h${win.w}`);
  const outside = `M0,0H${width}V${height}H0Z M${win.x},${win.y}v${win.h}h${win.w}v${-win.h}Z`;
  return (
    <svg
      className="grid-overlay"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      aria-hidden="true"
      data-testid="input.grid"
      data-rows={rows}
      data-cols={cols}
      data-window={[win.x, win.y, win.w, win.h].map((v) => Math.round(v)).join(',')}
    >
      <path className="cropped" d={outside} fillRule="evenodd" />
      <path d={lines.join('')} vectorEffect="non-scaling-stroke" />
      <rect className="window" x={win.x} y={win.y} width={win.w} height={win.h} vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

const asFiles = (list: FileList | null | undefined) =>
  [...(list ?? [])].map((f) => ({ blob: f as Blob, name: f.name }));

/** Several images in prompt order (move, remove), or a video's sampled frames in time order. */
function ImageStrip() {
  const images = useApp((s) => s.images);
  const video = useApp((s) => s.video);
  const info = useApp((s) => s.info);
  if (images.length < 2 && !video) return null;
  // Video-LLaVA feeds frames through its video tower (CLS kept); other models take each frame as an image.
  const perFrame = info?.video
    ? `each ${info.video.tokensPerFrame} tokens through the model's video tower (${tokenBreakdown(info.video.tokensPerFrame, info.gridSize)})`
    : 'each one image to the model';
  return (
    <figure className="image-strip-frame">
      <ol
        className={`image-strip ${video ? 'frames' : ''}`}
        data-testid={video ? 'input.frames' : 'input.images'}
        aria-label={video ? 'Sampled frames, in time order' : 'Images, in the order the model reads them'}
      >
        {images.map((im, i) => (
          <li
            key={im.version}
            className="strip-item"
            data-testid={video ? 'input.frame' : 'input.thumb'}
            data-name={im.name}
          >
            <img src={im.url} alt={video ? `Frame at ${im.frame?.timeS.toFixed(2)} s` : `Image ${i + 1}: ${im.name}`} />
            <span className="small strip-label">
              {video ? (
                `${im.frame?.timeS.toFixed(2)} s`
              ) : (
                <>
                  <strong>{i + 1}</strong> {im.name}
                </>
              )}
            </span>
            {!video && (
              <span className="row tight strip-actions">
                <button
                  type="button"
                  className="ghost icon-button"
                  aria-label={`Move ${im.name} earlier`}
                  data-testid="input.thumb.earlier"
                  disabled={i === 0}
                  onClick={() => moveImage(i, -1)}
                >
                  ←
                </button>
                <button
                  type="button"
                  className="ghost icon-button"
                  aria-label={`Move ${im.name} later`}
                  data-testid="input.thumb.later"
                  disabled={i === images.length - 1}
                  onClick={() => moveImage(i, 1)}
                >
                  →
                </button>
                <button
                  type="button"
                  className="ghost icon-button"
                  aria-label={`Remove ${im.name}`}
                  data-testid="input.thumb.remove"
                  onClick={() => removeImage(i)}
                >
                  ×
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
      <figcaption className="small muted" data-testid="input.caption">
        {video
          ? `${video.name} · ${video.width}×${video.height}px · ${video.durationS.toFixed(2)} s · ${images.length} frame${images.length === 1 ? '' : 's'} sampled evenly, ${perFrame}`
          : `${images.length} images, read by the model in this order`}
      </figcaption>
    </figure>
  );
}

/** The frame count (N, default 8) and the video's own controls. */
function VideoControls() {
  const video = useApp((s) => s.video);
  const frameCount = useApp((s) => s.frameCount);
  const sampling = useApp((s) => s.sampling);
  const [draft, setDraft] = useState<string | null>(null);
  const apply = () => {
    if (draft !== null) {
      void setFrameCount(Number(draft));
      setDraft(null);
    }
  };
  return (
    <div className="row wrap video-controls">
      <label className="field inline" htmlFor="frame-count">
        <span className="small">Video frames</span>
        <input
          id="frame-count"
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          data-testid="input.frame-count"
          value={draft ?? String(frameCount)}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={apply}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              apply();
            }
          }}
        />
      </label>
      {video ? (
        <button type="button" className="ghost small-button" data-testid="input.video.remove" onClick={clearVideo}>
          Remove video
        </button>
      ) : (
        <span className="small muted" title="A video you choose is sampled to this many frames, evenly over its length">
          for a video, evenly spaced
        </span>
      )}
      {sampling && (
        <span className="small muted" data-testid="input.sampling" aria-live="polite">
          Reading {sampling} and sampling {frameCount} frames…
        </span>
      )}
    </div>
  );
}

function ImageArea() {
  const image = useApp((s) => s.image);
  const several = useApp((s) => s.images.length > 1 || s.video !== null);
  const info = useApp((s) => s.info);
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = asFiles(e.dataTransfer.files);
    if (files.length) void putFiles(files, 'replace');
  };
  const grid = info ? gridFor(info.visualTokens, info.gridSize) : null;
  const win = image && info ? modelWindow(image.width, image.height, info.imageFit) : null;
  const seen = image && win ? describeWindow(image.width, image.height, win) : '';
  return (
    <div
      className={`dropzone ${over ? 'over' : ''} ${image ? 'has-image' : ''}`}
      data-testid="input.dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      {several ? (
        <ImageStrip />
      ) : image ? (
        <figure className="image-frame">
          <div className="picture">
            <img src={image.url} alt={`Input: ${image.name}`} data-testid="input.image" />
            {grid && win && (
              <PatchGrid rows={grid[0]} cols={grid[1]} width={image.width} height={image.height} win={win} />
            )}
          </div>
          <figcaption className="small muted" data-testid="input.caption">
            {image.name} · {image.width}×{image.height}px
            {grid ? ` · ${seen ? `${seen}, ` : ''}resized to ${info!.imageSize}px, ${grid[0]}×${grid[1]} patches` : ''}
          </figcaption>
        </figure>
      ) : (
        <div className="drop-empty">
          <p>
            <strong>Drop images or a video here</strong>, paste one, or choose files.
          </p>
          <p className="small muted">
            PNG, JPEG, GIF, BMP or WebP, up to 50 megapixels; several images in the order given, or a video sampled to
            frames. Nothing leaves this machine.
          </p>
        </div>
      )}
    </div>
  );
}

export function InputPanel() {
  const error = useApp((s) => s.errors.input);
  const question = useApp((s) => s.question);
  const running = useApp((s) => s.runs.some(isActive));
  const blocked = useApp((s) => cannotAsk(s));
  const compare = useApp((s) => s.compare.enabled);
  const loading = useApp((s) => s.status === 'loading' || s.status === 'starting');
  const hasImages = useApp((s) => s.images.length > 0 && s.video === null);
  return (
    <Panel id="input" title="Images and question" error={error}>
      <ImageArea />
      <div className="row wrap">
        <label className="file-button">
          <input
            type="file"
            multiple
            accept="image/*,video/*"
            data-testid="input.file"
            onChange={(e) => {
              const files = asFiles(e.target.files);
              if (files.length) void putFiles(files, 'replace');
              e.target.value = '';
            }}
          />
          <span>Choose images or video…</span>
        </label>
        {hasImages && (
          <label className="file-button">
            <input
              type="file"
              multiple
              accept="image/*,video/*"
              data-testid="input.add"
              onChange={(e) => {
                const files = asFiles(e.target.files);
                if (files.length) void putFiles(files, 'add');
                e.target.value = '';
              }}
            />
            <span>Add image…</span>
          </label>
        )}
        <span className="small muted">or a sample:</span>
        {SAMPLES.map((s) => (
          <button
            key={s.path}
            type="button"
            className="ghost small-button"
            data-testid={`input.sample.${s.name.replace('.png', '')}`}
            onClick={() => void loadSample(s.path, s.name)}
          >
            {s.label}
          </button>
        ))}
      </div>
      <VideoControls />
      <form
        className="question"
        onSubmit={(e) => {
          e.preventDefault();
          ask();
        }}
      >
        <label htmlFor="question">Question</label>
        <textarea
          id="question"
          data-testid="input.question"
          rows={2}
          value={question}
          placeholder="Ask about the image — Enter to run, Shift+Enter for a new line"
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              ask();
            }
          }}
        />
        <div className="row wrap examples">
          {EXAMPLE_QUESTIONS.map((q) => (
            <button key={q} type="button" className="chip" data-testid="input.example" onClick={() => setQuestion(q)}>
              {q}
            </button>
          ))}
        </div>
        <div className="row actions">
          <button
            type="submit"
            className="primary"
            data-testid="input.run"
            disabled={blocked !== null}
            title={blocked ?? undefined}
          >
            {compare ? 'Run comparison' : 'Run'} <kbd>Enter</kbd>
          </button>
          {!compare && (
            <button
              type="button"
              data-testid="input.compare"
              disabled={blocked !== null}
              title="Answer with each of the compare panel's settings (None, SparseVLM 64, FastV 64 unless changed), one after another"
              onClick={() => {
                setCompareEnabled(true);
                ask();
              }}
            >
              Compare
            </button>
          )}
          <button type="button" data-testid="input.stop" onClick={stop} disabled={!running}>
            Stop
          </button>
          {blocked && !running && (
            <span className="small muted" data-testid="input.why">
              {blocked}
            </span>
          )}
          {!blocked && loading && (
            <span className="small muted" data-testid="input.why">
              The model is still loading: a question asked now runs as soon as it is ready.
            </span>
          )}
        </div>
      </form>
    </Panel>
  );
}
