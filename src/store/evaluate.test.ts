/**
 * The Evaluate slice's side of the store: requests sent with sendDirect are answered to their
 * own handler (runs, errors and history untouched) and failed when the engine is replaced; the
 * panel's sentences for a bad folder, no model, no folder and a bad method list. (The whole
 * panel on the real engine: e2e/eval.spec.ts.)
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { FromWorker, ToWorker } from '../engine/protocol';
import { connectEngine, handleMessage, newRequestId, restartEngine, sendDirect } from './engine';
import { pickEvalFolder, setEvalOptions, startEvaluation } from './evaluate';
import { getState, resetStore } from './store';

const posted: ToWorker[] = [];
let restarts = 0;
connectEngine({
  post: (m) => posted.push(m),
  subscribe: () => {},
  restart: () => {
    restarts++;
  },
});
beforeEach(() => {
  resetStore();
  posted.length = 0;
});

const generate = (id: number): ToWorker => ({
  type: 'generate',
  id,
  image: { bytes: new ArrayBuffer(1), mime: 'image/png', name: 'x.png' },
  question: 'q',
  settings: { method: 'none' },
  options: { maxNewTokens: 1, temperature: 0, topP: 1, seed: 0 },
});
const file = (text: string) => new Blob([text]);

describe('sendDirect', () => {
  it('delivers token, done and error to the handler only', () => {
    const got: FromWorker['type'][] = [];
    const id = newRequestId();
    sendDirect(generate(id), (m) => got.push(m.type));
    expect(posted.at(-1)).toMatchObject({ type: 'generate', id });
    handleMessage({ type: 'token', id, tokenId: 5, text: 'a', elapsedMs: 1 });
    handleMessage({ type: 'error', id, where: 'input', code: 'bad-image', message: 'The image could not be decoded.' });
    handleMessage({ type: 'done', id, text: 'late', trace: {} as never }); // after error: no longer routed to it
    expect(got).toEqual(['token', 'error']);
    expect(getState().runs).toEqual([]);
    expect(getState().errors).toEqual({});
  });

  it('a request in flight when the engine is replaced ends with an error', () => {
    const got: FromWorker[] = [];
    const id = newRequestId();
    sendDirect(generate(id), (m) => got.push(m));
    expect(restartEngine('The GPU was lost.')).toBe(true);
    expect(restarts).toBeGreaterThan(0);
    expect(got).toEqual([{ type: 'error', id, where: 'gpu', code: 'device-lost', message: 'The GPU was lost.' }]);
  });
});

describe('Evaluate panel sentences', () => {
  it("a folder without the format's files says what it expected; switching the format reads it again", async () => {
    await pickEvalFolder({
      folder: 'gqa-mini',
      files: [
        {
          path: 'testdev_balanced_questions.json',
          file: file(JSON.stringify({ 1: { imageId: 'n1', question: 'q?', answer: 'yes' } })),
        },
      ],
    });
    expect(getState().evaluation).toMatchObject({ status: 'error', folder: 'gqa-mini' });
    expect(getState().evaluation.error).toMatch(
      /^“gqa-mini” is not a pope folder: .*no POPE question file .*found\. Expected POPE: coco_pope_<split>\.json/,
    );
    setEvalOptions({ format: 'gqa' });
    await new Promise((ok) => setTimeout(ok, 0));
    expect(getState().evaluation).toMatchObject({ status: 'ready', itemCount: 1, error: null });
  });

  it('refuses to start without a model, then names a bad method spec', async () => {
    await pickEvalFolder({
      folder: 'pope-mini',
      files: [
        {
          path: 'coco_pope_random.json',
          file: file('{"question_id": 1, "image": "a.jpg", "text": "q?", "label": "yes"}\n'),
        },
      ],
    });
    expect(getState().evaluation).toMatchObject({ status: 'ready', itemCount: 1 });
    await startEvaluation();
    expect(getState().evaluation.error).toBe('Load a model first: the evaluation asks the model that is loaded.');
    handleMessage({
      type: 'loaded',
      id: 999,
      model: {
        name: 'm',
        dtype: 'q4',
        numLayers: 2,
        hiddenSize: 8,
        visualTokens: 4,
        gridSize: [2, 2],
        imageSize: 28,
        synthetic: true,
        bytes: 1,
        imageFit: { kind: 'stretch' },
      } as never,
    });
    setEvalOptions({ methods: 'none,sparse vlm' });
    await startEvaluation();
    expect(getState().evaluation.error).toBe('Methods: "sparse vlm" is not name or name:budget (e.g. sparsevlm:64)');
    expect(posted.filter((m) => m.type === 'generate')).toHaveLength(0);
  });
});
