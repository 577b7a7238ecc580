import { setTheme } from '../store/settings';
import { setState, useApp } from '../store/store';

const NEXT = { system: 'light', light: 'dark', dark: 'system' } as const;

export function Header() {
  const theme = useApp((s) => s.theme);
  const noWebGpu = useApp((s) => s.noWebGpu);
  const adapter = useApp((s) => s.adapter);
  const deviceLost = useApp((s) => s.deviceLost);
  return (
    <>
      <header className="app-head">
        <div>
          <h1>
            SparseVLM <span className="muted">in the browser</span>
          </h1>
          <p className="subtitle">
            Ask a LLaVA-family model about an image, here on WebGPU, and watch SparseVLM drop the image patches the
            question does not need, layer by layer, and what that saves.
          </p>
        </div>
        <button
          type="button"
          className="ghost"
          data-testid="app.theme"
          onClick={() => setTheme(NEXT[theme])}
          aria-label={`Colour theme: ${theme}. Switch to ${NEXT[theme]}.`}
        >
          {theme === 'system' ? '◐ Auto' : theme === 'light' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      {(noWebGpu || adapter?.backend === 'wasm') && (
        <div className="banner" role="status" data-testid="app.no-webgpu">
          <strong>WebGPU is not available in this browser.</strong> The model runs on the CPU (WebAssembly) instead:
          correct, but slow. Use a recent Chrome or Edge with WebGPU for real speed.
        </div>
      )}
      {deviceLost && (
        <div
          className={`banner gpu ${deviceLost.recovered ? 'ok' : ''}`}
          role="status"
          data-testid="app.device-lost"
          data-recovered={deviceLost.recovered}
        >
          <span>
            <strong>The GPU was reset</strong> ({deviceLost.message}).{' '}
            {deviceLost.recovered
              ? 'The model was reloaded; your image, question, settings and runs are all still here.'
              : 'Reloading the model… your image, question, settings and runs are kept.'}
          </span>
          {deviceLost.recovered && (
            <button
              type="button"
              className="small-button ghost"
              data-testid="app.device-lost.dismiss"
              onClick={() => setState({ deviceLost: null })}
            >
              Dismiss
            </button>
          )}
        </div>
      )}
    </>
  );
}
