/** Entry: connect the store to the engine worker, start it, render the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectEngine, showError } from './store/engine';
import './store/history'; // saves finished runs to IndexedDB
import { connectConverter } from './store/hub';
import { startEngine } from './store/model';
import { restoreSession, startSessionSync } from './store/sessionSync';
import { App } from './ui/App';
import { installE2eApi } from './ui/e2eApi';
import './ui/styles.css';
import { workerLink } from './engine/client';

installE2eApi();
connectConverter(() => new Worker(new URL('./convert/browser/convertWorker.ts', import.meta.url), { type: 'module' }));
// Restore first (image, question, settings), then save every change from there on.
void restoreSession().finally(startSessionSync);
try {
  connectEngine(workerLink(() => new Worker(new URL('./engine/worker.ts', import.meta.url), { type: 'module' })));
  startEngine(typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu !== undefined);
} catch (e) {
  showError({ where: 'model', code: 'worker-failed', message: `The engine could not start: ${(e as Error).message}` });
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
