/** Page layout: sidebar (model, pruning) · input · answer, explorer and raters · cost and compare. */
import { useEffect } from 'react';
import { putFiles } from '../store/input';
import { useApp } from '../store/store';
import { AnswerPanel } from './AnswerPanel';
import { ComparePanel } from './ComparePanel';
import { CostPanel } from './CostPanel';
import { ExplorerPanel } from './ExplorerPanel';
import { EvalPanel } from './eval/EvalPanel';
import { Header } from './Header';
import { HistoryPanel } from './HistoryPanel';
import { InputPanel } from './InputPanel';
import { MethodPanel } from './MethodPanel';
import { ModelPanel } from './ModelPanel';
import { RatersPanel } from './RatersPanel';

function usePasteImage() {
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const files = Array.from(e.clipboardData?.files ?? []).filter((f) => f.type.startsWith('image/'));
      if (files.length === 0) return;
      e.preventDefault();
      void putFiles(
        files.map((f, i) => ({ blob: f, name: f.name || `pasted image ${i + 1}` })),
        'replace',
      );
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, []);
}

function useTheme() {
  const theme = useApp((s) => s.theme);
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
  }, [theme]);
}

export function App() {
  usePasteImage();
  useTheme();
  return (
    <div className="app">
      <a className="skip" href="#question">
        Skip to the question
      </a>
      <Header />
      <main className="layout">
        {/* Pruning first: it is what the tool is for, and at 1280×800 it was below the fold under the model panel. */}
        <aside className="col side">
          <MethodPanel />
          <ModelPanel />
          <HistoryPanel />
        </aside>
        <div className="col center">
          <InputPanel />
        </div>
        <div className="col right">
          <AnswerPanel />
          <ExplorerPanel />
          <RatersPanel />
        </div>
        <div className="col wide">
          <CostPanel />
          <ComparePanel />
          <EvalPanel />
        </div>
      </main>
      <footer className="foot small muted">
        Everything runs on this machine: the image and the question never leave the browser.
      </footer>
    </div>
  );
}
