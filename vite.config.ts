import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// onnxruntime-web ships its own .wasm/.mjs loaders; keep it out of dependency pre-bundling
// so the worker loads one copy of ORT (ENVIRONMENT.md: one ORT in the bundle).
export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // Test pages for e2e/hub.spec.ts and e2e/persist.spec.ts (served by `vite preview` beside the app).
    rollupOptions: { input: { main: 'index.html', 'e2e-hub': 'e2e/pages/hub.html', 'e2e-persist': 'e2e/pages/persist.html' } },
  },
});
