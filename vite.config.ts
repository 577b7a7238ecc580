import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * Packages the e2e specs convert at test time (e2e/engine.spec.ts) live in `test-packages/`
 * (git-ignored). They are made after `vite build`, so `public/` would not reach `dist/`;
 * this serves that folder at `/test-packages/` from both `vite dev` and `vite preview`.
 */
function testPackages(): Plugin {
  const root = join(import.meta.dirname, 'test-packages');
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/test-packages/')) return next();
    const file = normalize(join(root, decodeURIComponent(url.pathname.slice('/test-packages/'.length))));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Content-Type', file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-store');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'sparsevlm:test-packages',
    configureServer: (server) => {
      server.middlewares.use(serve);
    },
    configurePreviewServer: (server) => {
      server.middlewares.use(serve);
    },
  };
}

// onnxruntime-web ships its own .wasm/.mjs loaders; keep it out of dependency pre-bundling
// so the worker loads one copy of ORT (ENVIRONMENT.md: one ORT in the bundle). The worker
// imports the .wasm with `?url`, so it is served from our own origin in dev and emitted once
// into dist/assets by the build.
export default defineConfig({
  plugins: [react(), testPackages()],
  worker: { format: 'es' },
  optimizeDeps: {
    exclude: ['onnxruntime-web'],
    // The workers' imports too: Vite's scan starts at index.html and does not follow
    // `new Worker(new URL(…))`, so @huggingface/transformers was found only once the engine
    // worker asked for it, ~13 s into the first visit of a fresh dev server (issue 12 item 8).
    entries: ['index.html', 'src/engine/worker.ts', 'src/convert/browser/convertWorker.ts'],
  },
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // Test pages for e2e/hub.spec.ts, e2e/persist.spec.ts and e2e/engine.spec.ts (served by `vite preview` beside the app).
    rollupOptions: {
      input: {
        main: 'index.html',
        'e2e-hub': 'e2e/pages/hub.html',
        'e2e-persist': 'e2e/pages/persist.html',
        'e2e-engine': 'e2e/pages/engine.html',
      },
    },
  },
});
