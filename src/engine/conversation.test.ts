/**
 * Follow-up questions (issue 15 acceptance): a follow-up that prefills only its new tokens on
 * the kept caches gives the same ids, first-step logits (to float noise) and greedy tokens as
 * a fresh request whose prompt is the whole conversation (previous answers included),
 * unpruned — on the wasm engine and on Dawn's WebGPU with decode captured and plain. A pruned
 * conversation continues on its pruned caches, and the trace says so; `prefill-again` prunes
 * the whole conversation anew. The trace's FLOPs are what a follow-up computed (its new tokens
 * over the kept caches). The 112 px LLaMA + CLIP fixture (64 visual tokens, 4 layers).
 *
 * Cost (the full suite's budget): one engine per backend, the fixture converted once; a stopped
 * follow-up is checked inside the equality test (the next follow-up must still equal a fresh
 * request), turn 3 and prefill-again run where their code differs (wasm, captured decode).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateRequest, GenerateResult, RequestImage } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader, wasmEngineBeside } from './fixturePackage.testutil';
import { CpuTensorOps } from './ops';
import { cutCache, planFollowUp, type KeptConversation } from './conversation';
import { layerFlopsWithPast } from '../prune/flops';
import { EngineError } from '../common/errors';

const NAME = 'llama-clip-gqa-112';
const image: RequestImage = {
  bytes: new Uint8Array(readFileSync(join(FIXTURES, 'llama-clip-gqa', 'image.png'))),
  name: 'image.png',
};
const Q1 = 'What is in the picture?';
const Q2 = 'And what colour is it?';
const Q3 = 'Why?';
const options = { maxNewTokens: 4, temperature: 0, topP: 1, seed: 0 };

// Dawn first: onnxruntime is initialised once per process, and a wasm engine is made from its runtime.
let base: Engine;
beforeAll(async () => {
  base = await dawnEngine();
}, 300_000);
afterAll(async () => base?.dispose());
/** The fixture converted once for the three engines. */
let files: Promise<Map<string, Uint8Array>> | null = null;

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('follow-up planning and cache cutting (CPU)', () => {
  const kept = (ids: number[]): KeptConversation => ({
    id: 'c',
    images: [image],
    history: [],
    settings: { method: 'none' },
    ids,
    caches: [],
    visualPerLayer: [],
    visualAfter: 0,
    visualEnd: 3,
  });
  const req = (fullIds: number[], extra: Partial<Parameters<typeof planFollowUp>[1]> = {}) => ({
    fullIds,
    images: [image],
    settings: { method: 'none' },
    mode: 'reuse-cache' as const,
    ...extra,
  });

  it('prefills the ids past what the caches hold, cutting back where the rendering differs', () => {
    expect(planFollowUp(kept([1, 2, 3, 4, 5]), req([1, 2, 3, 4, 5, 6, 7]))).toEqual({
      kind: 'reuse',
      reused: 5,
      drop: 0,
      newIds: [6, 7],
    });
    expect(planFollowUp(kept([1, 2, 3, 4, 5]), req([1, 2, 3, 4, 9, 6]))).toEqual({
      kind: 'reuse',
      reused: 4,
      drop: 1,
      newIds: [9, 6],
    });
    expect(planFollowUp(kept([1, 2, 3, 4]), req([1, 2, 3, 4]))).toMatchObject({ reused: 3, drop: 1, newIds: [4] });
  });

  it('prefills the whole conversation when it cannot continue the kept one', () => {
    expect(planFollowUp(kept([1, 2, 3, 4]), req([1, 2, 8, 4, 5]))).toMatchObject({ kind: 'prefill' });
    expect(planFollowUp(kept([1, 2, 3, 4]), req([1, 2, 3, 4, 5], { settings: { method: 'fastv' } }))).toMatchObject({
      kind: 'prefill',
    });
    const other = { bytes: image.bytes.slice(0, 10), name: 'x.png' };
    expect(planFollowUp(kept([1, 2, 3, 4]), req([1, 2, 3, 4, 5], { images: [other] }))).toMatchObject({
      kind: 'prefill',
    });
    expect(planFollowUp(kept([1, 2, 3, 4]), req([1, 2, 3, 4, 5], { mode: 'prefill-again' }))).toMatchObject({
      kind: 'prefill',
    });
  });

  it('cuts the last rows of every head', async () => {
    const rt = base.rt;
    const ops = new CpuTensorOps(rt.ort);
    // [1, 2 heads, 3 rows, 2] = head h row r → 10h + r (both columns)
    const data = Float32Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 6) + Math.floor((i % 6) / 2));
    const t = new rt.ort.Tensor('float32', data, [1, 2, 3, 2]);
    const c = cutCache(ops, { key: t, value: t, length: 3 }, 1);
    expect(c.length).toBe(2);
    expect(c.key.dims).toEqual([1, 2, 2, 2]);
    expect(Array.from(c.key.data as Float32Array)).toEqual([0, 0, 1, 1, 10, 10, 11, 11]);
  });
});

type Backend = 'wasm' | 'webgpu-plain' | 'webgpu-captured';

describe.each<Backend>(['wasm', 'webgpu-plain', 'webgpu-captured'])('follow-up questions on %s', (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    const { Engine } = await import('./engine');
    const rt = base.rt;
    engine =
      backend === 'wasm'
        ? await wasmEngineBeside(base, 'the conversation test asks for wasm')
        : Engine.withRuntime({ ...rt, graphCapture: backend === 'webgpu-captured' });
    files ??= fixturePackage(NAME);
    await engine.load(memoryReader(await files, NAME));
    if (backend === 'webgpu-captured') expect(engine.model!.decoder?.ready).toBe(true);
    else expect(engine.model!.decoder).toBeNull();
  }, 300_000);
  afterAll(async () => engine?.dispose());

  const ask = (r: Partial<GenerateRequest>): Promise<GenerateResult> =>
    engine.generate({ question: Q1, settings: { method: 'none' }, options, ...r });

  /** What a follow-up on kept caches computes: its new tokens over each layer's past rows (prune/flops.ts). */
  const followUpFlops = (newTokens: number, pastPerLayer: number[]) => {
    const { hiddenSize, intermediateSize } = engine.dims();
    return pastPerLayer.reduce((s, p) => s + layerFlopsWithPast(newTokens, p, hiddenSize, intermediateSize), 0);
  };

  // Turn 3 continues caches a follow-up kept: on the plain WebGPU path that is wasm's code with
  // GPU tensors, so it runs on wasm and on captured decode (whose caches are copied out).
  const turn3 = backend !== 'webgpu-plain';

  it('a follow-up on the kept caches = a fresh request for the whole conversation (unpruned, greedy), also after a stopped one', async () => {
    const t1 = await ask({ image, keepConversation: true });
    expect(t1.conversation).toEqual({ id: expect.any(String), turns: 1 });
    const id = t1.conversation!.id;
    // A follow-up stopped mid-answer leaves the conversation as it was (the next one reuses it).
    const abort = new AbortController();
    const stopped = await ask({
      conversation: id,
      question: Q3,
      keepConversation: true,
      options: { ...options, maxNewTokens: 12 },
      signal: abort.signal,
      onToken: () => abort.abort(),
    }).catch((e: unknown) => e);
    expect((stopped as EngineError).code).toBe('cancelled');
    const t2 = await ask({ conversation: id, question: Q2, keepConversation: true });
    const f2 = await ask({ image, history: [{ question: Q1, answer: t1.text }], question: Q2 });
    console.log(
      `${backend}: turn 1 ${t1.tokenIds.join(',')} "${t1.text}"; turn 2 ${JSON.stringify(t2.trace.followUp)} ${t2.tokenIds.join(',')}; fresh ${f2.tokenIds.join(',')}; logits max diff ${maxAbsDiff(t2.firstStepLogits, f2.firstStepLogits).toExponential(2)}`,
    );
    expect(t2.trace.followUp).toMatchObject({ turn: 2, mode: 'reuse-cache', cache: 'reused' });
    const fu = t2.trace.followUp as { reusedTokens: number; newTokens: number; droppedTokens: number };
    expect(fu.reusedTokens + fu.newTokens).toBe(t2.inputIds.length);
    // This tokenizer renders "ASSISTANT:" + the answer into other ids than the prompt's end and
    // the generated ones, so the caches are cut back a few rows (droppedTokens) — never into the image.
    expect(fu.reusedTokens).toBeGreaterThanOrEqual(t1.trace.layout.preLength + t1.trace.layout.visualCount);
    expect(fu.reusedTokens + fu.droppedTokens).toBe(t1.inputIds.length + t1.tokenIds.length - 1);
    expect(f2.trace.followUp).toMatchObject({ cache: 'prefilled' });
    expect(t2.inputIds).toEqual(f2.inputIds);
    expect(maxAbsDiff(t2.firstStepLogits, f2.firstStepLogits)).toBeLessThan(1e-3);
    expect(t2.tokenIds).toEqual(f2.tokenIds);
    expect(t2.conversation).toEqual({ id, turns: 2 });
    // The trace's cost is what the follow-up computed: its new tokens over the unpruned caches,
    // not the whole conversation's prefill (that is flopsWholePrefill, the fresh request's flops).
    const layers = t2.trace.visualPerLayer.length;
    expect(t2.trace.cost.flops).toBe(followUpFlops(fu.newTokens, Array(layers).fill(fu.reusedTokens)));
    expect(t2.trace.cost.flopsUnpruned).toBe(t2.trace.cost.flops);
    expect(t2.trace.cost.flopsWholePrefill).toBe(f2.trace.cost.flops);
    expect(t2.trace.cost.flops).toBeLessThan(f2.trace.cost.flops / 2);
    expect(f2.trace.cost.flopsWholePrefill).toBeUndefined();
    if (!turn3) return;

    // A third turn continues the caches the follow-up kept.
    const t3 = await ask({ conversation: id, question: Q3, keepConversation: true });
    const f3 = await ask({
      image,
      history: [
        { question: Q1, answer: t1.text },
        { question: Q2, answer: t2.text },
      ],
      question: Q3,
    });
    expect(t3.trace.followUp).toMatchObject({ turn: 3, cache: 'reused' });
    expect(t3.inputIds).toEqual(f3.inputIds);
    expect(maxAbsDiff(t3.firstStepLogits, f3.firstStepLogits)).toBeLessThan(1e-3);
    expect(t3.tokenIds).toEqual(f3.tokenIds);
    expect(t3.conversation).toEqual({ id, turns: 3 });
  });

  it('a pruned conversation continues on its pruned caches; prefill-again prunes the whole conversation', async () => {
    const settings = { method: 'sparsevlm', budget: 64 };
    const t1 = await ask({ image, settings, keepConversation: true });
    expect(t1.trace.stages.length, 'turn 1 pruned').toBeGreaterThan(0);
    const id = t1.conversation!.id;
    const t2 = await ask({ conversation: id, question: Q2, settings });
    expect(t2.trace.followUp).toMatchObject({ turn: 2, cache: 'reused' });
    expect(t2.trace.stages).toEqual(t1.trace.stages); // the kept sets its caches hold; nothing pruned again
    expect(t2.trace.raters).toEqual(t1.trace.raters);
    expect(t2.trace.visualPerLayer).toEqual(t1.trace.visualPerLayer); // the caches hold turn 1's pruned sets
    expect(t2.tokenIds.length).toBeGreaterThan(0);
    // FLOPs over the pruned caches: layer l's past is the reused ids less the visual tokens pruned before it.
    const fu = t2.trace.followUp as { reusedTokens: number; newTokens: number };
    expect(t2.trace.cost.flops).toBe(
      followUpFlops(
        fu.newTokens,
        t2.trace.visualPerLayer.map((v) => fu.reusedTokens - (t1.trace.layout.visualCount - v)),
      ),
    );
    expect(t2.trace.cost.flopsUnpruned).toBe(
      followUpFlops(fu.newTokens, Array(t2.trace.visualPerLayer.length).fill(fu.reusedTokens)),
    );
    expect(t2.trace.cost.flops).toBeLessThan(t2.trace.cost.flopsUnpruned);
    // Prefill is the same code with decode captured or not: prefill-again runs on wasm and captured.
    if (backend === 'webgpu-plain') return;
    const again = await ask({
      conversation: id,
      question: Q2,
      settings,
      options: { ...options, followUp: 'prefill-again' },
    });
    expect(again.trace.followUp).toMatchObject({ cache: 'prefilled', mode: 'prefill-again' });
    expect(again.trace.stages.length, 'the whole conversation pruned again').toBeGreaterThan(0);
    expect(again.trace.raters!.tokenIds.length).toBeGreaterThan(t1.trace.raters!.tokenIds.length); // raters from every turn
    expect(again.inputIds).toEqual(t2.inputIds);
    expect(again.trace.cost.flopsWholePrefill).toBeUndefined();
  });

  // Engine logic, not backend work: once is enough.
  it.runIf(backend === 'wasm')(
    'refuses a conversation it no longer keeps, and one over the context, with the figures',
    async () => {
      const gone = await ask({ conversation: 'conversation-999', question: Q2 }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(EngineError);
      expect((gone as EngineError).code).toBe('conversation-gone');
      const t1 = await ask({ image, keepConversation: true });
      const long = await ask({
        conversation: t1.conversation!.id,
        question: 'word '.repeat(1990),
      }).catch((e: unknown) => e);
      expect(long).toBeInstanceOf(EngineError);
      expect((long as EngineError).code).toBe('conversation-too-long');
      expect((long as EngineError).message).toMatch(
        /take \d+ tokens and the next answer 4 more, but the model's context holds 2048/,
      );
      // The refused follow-up left the conversation as it was.
      const t2 = await ask({ conversation: t1.conversation!.id, question: Q2 });
      expect(t2.trace.followUp).toMatchObject({ cache: 'reused' });
    },
  );
});

// The Qwen2 family (ChatML template, im_end between turns): the same equality on wasm.
describe('follow-up questions on the Qwen2 + SigLIP fixture (wasm)', () => {
  const QWEN = 'qwen2-siglip-112';
  let engine: Engine;
  beforeAll(async () => {
    engine = await wasmEngineBeside(base, 'the conversation test asks for wasm');
    await engine.load(memoryReader(await fixturePackage(QWEN), QWEN));
  }, 300_000);
  afterAll(async () => engine?.dispose());

  it('a follow-up on the kept caches = a fresh request for the whole conversation (unpruned, greedy)', async () => {
    const ask = (r: Partial<GenerateRequest>) =>
      engine.generate({ question: Q1, settings: { method: 'none' }, options, ...r });
    const t1 = await ask({ image, keepConversation: true });
    const t2 = await ask({ conversation: t1.conversation!.id, question: Q2 });
    const f2 = await ask({ image, history: [{ question: Q1, answer: t1.text }], question: Q2 });
    console.log(
      `${QWEN}: turn 1 ${t1.tokenIds.join(',')}; turn 2 ${JSON.stringify(t2.trace.followUp)} ${t2.tokenIds.join(',')}; fresh ${f2.tokenIds.join(',')}; logits max diff ${maxAbsDiff(t2.firstStepLogits, f2.firstStepLogits).toExponential(2)}`,
    );
    expect(t2.trace.followUp).toMatchObject({ turn: 2, cache: 'reused' });
    const fu = t2.trace.followUp as { reusedTokens: number; newTokens: number };
    expect(fu.reusedTokens).toBeGreaterThanOrEqual(t1.trace.layout.preLength + t1.trace.layout.visualCount);
    expect(fu.newTokens).toBeLessThan(t2.inputIds.length - t1.trace.layout.visualCount);
    expect(t2.inputIds).toEqual(f2.inputIds);
    expect(maxAbsDiff(t2.firstStepLogits, f2.firstStepLogits)).toBeLessThan(1e-3);
    expect(t2.tokenIds).toEqual(f2.tokenIds);
  });

  // FastV keeps original positions: a decoded token sits at the unpruned length + step
  // (decode.ts), and so must a follow-up's new ids over the pruned caches. The same follow-up
  // (same history, same ids) on two kept conversations pruned alike: A decoded three answer
  // tokens (decode's rule placed them), B none (its follow-up prefills them by conversation.ts's
  // rule). Equal logits and tokens say the two rules agree; a follow-up numbered by the pruned
  // cache length instead fails it.
  it('a follow-up on FastV-pruned caches numbers its ids by the unpruned length, as decode does', async () => {
    const settings = { method: 'fastv', params: { R: 0.5 } };
    const ask = (r: Partial<GenerateRequest>) => engine.generate({ question: Q1, settings, options, ...r });
    const a1 = await ask({ image, keepConversation: true });
    expect(a1.trace.stages.length, 'turn 1 pruned').toBeGreaterThan(0);
    expect(a1.trace.visualPerLayer.at(-1)).toBeLessThan(a1.trace.layout.visualCount);
    const history = [{ question: Q1, answer: a1.text }];
    const a2 = await ask({ conversation: a1.conversation!.id, history, question: Q2 });
    const b1 = await ask({ image, keepConversation: true, options: { ...options, maxNewTokens: 1 } });
    const decisions = (r: GenerateResult) => r.trace.stages.map(({ ms: _ms, ...decision }) => decision);
    expect(decisions(b1)).toEqual(decisions(a1)); // pruned alike: the decision is the prompt's
    const b2 = await ask({ conversation: b1.conversation!.id, history, question: Q2 });
    const fa = a2.trace.followUp as { reusedTokens: number };
    const fb = b2.trace.followUp as { reusedTokens: number; newTokens: number };
    console.log(
      `fastv: A ${JSON.stringify(a2.trace.followUp)} ${a2.tokenIds.join(',')}; B ${JSON.stringify(b2.trace.followUp)} ${b2.tokenIds.join(',')}; logits max diff ${maxAbsDiff(a2.firstStepLogits, b2.firstStepLogits).toExponential(2)}`,
    );
    expect(fb.reusedTokens).toBe(a1.inputIds.length);
    expect(fa.reusedTokens).toBeGreaterThan(fb.reusedTokens); // A's caches hold decoded answer tokens
    expect(a2.inputIds).toEqual(b2.inputIds);
    expect(maxAbsDiff(a2.firstStepLogits, b2.firstStepLogits)).toBeLessThan(1e-3);
    expect(a2.tokenIds).toEqual(b2.tokenIds);
  });
});
