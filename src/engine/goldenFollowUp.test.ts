/**
 * A follow-up question against transformers (issue 15 acceptance): fixtures/make_followup_goldens.py
 * records, for a two-image conversation on each supported family's 112 px fixture (LLaMA + CLIP
 * with the LLaVA-1.5 template; Qwen2 + SigLIP with ChatML as llava-interleave-qwen), the model's
 * own 8-token first answer and then the WHOLE two-turn conversation as one prompt: its ids, its
 * first-step logits over the vocabulary and 16 greedy tokens (fp32, unpruned).
 *
 * Here the engine answers turn 1 (same ids, same 8 tokens, same answer text), keeps the
 * conversation, and the follow-up — prefilling only its new ids on the kept caches — must give
 * the golden's ids, logits within 1e-4 and the same 16 tokens; a fresh request for the whole
 * conversation (history given, nothing kept) must give the same tokens too. On wasm both
 * families; on Dawn's WebGPU the Qwen2 one with decode captured, and plain in the full tier (the captured path
 * copies its fixed caches out for the conversation: conversation.ts copyFixedCache) and the
 * LLaMA one captured — its plain-decode follow-up = fresh request is conversation.test's. A
 * Dawn case costs ~30 s on SwiftShader (40 decode steps), so the fresh request runs on Dawn for
 * Qwen2 only. Fails when the follow-up's positions are off by one (max |Δlogit| 0.38 / 0.27).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, GenerateRequest } from './engine';
import { FIXTURES, dawnEngine, fixturePackage, memoryReader, wasmEngineBeside } from './fixturePackage.testutil';
import { goldenImages } from './goldenMulti.testutil';

interface FollowUpGolden {
  images: string[];
  questions: [string, string];
  turn1: { input_ids: number[]; tokens: number[]; answer: string };
  input_ids: number[];
  first_step_logits: number[];
  greedy16: number[];
  min_margin: number;
}

const NAMES = ['llama-clip-gqa-112', 'qwen2-siglip-112'];
const LOGIT_TOL = 1e-4;
const golden = (name: string): FollowUpGolden =>
  JSON.parse(readFileSync(join(FIXTURES, name, 'golden-followup.json'), 'utf8')) as FollowUpGolden;
const maxLogitError = (g: FollowUpGolden, logits: Float32Array) =>
  g.first_step_logits.reduce((w, v, i) => Math.max(w, Math.abs(logits[i] - v)), 0);

// Dawn first: onnxruntime is initialised once per process, and the wasm engine is made from its runtime.
let base: Engine;
beforeAll(async () => {
  base = await dawnEngine();
}, 300_000);
afterAll(async () => base?.dispose());
/** Each fixture converted once for the three engines. */
const packages = new Map<string, Promise<Map<string, Uint8Array>>>();

type Backend = 'wasm' | 'webgpu-plain' | 'webgpu-captured';

// The plain-decode Dawn case runs in the full tier (vitest.tiers.ts): captured decode is the
// default on WebGPU, and conversation.test keeps a plain-decode follow-up in the suite.
const BACKENDS: Backend[] =
  process.env.SVLM_TIER === 'full' ? ['wasm', 'webgpu-plain', 'webgpu-captured'] : ['wasm', 'webgpu-captured'];

describe.each<Backend>(BACKENDS)('a follow-up turn against transformers on %s', (backend) => {
  let engine: Engine;
  beforeAll(async () => {
    const { Engine } = await import('./engine');
    const rt = base.rt;
    engine =
      backend === 'wasm'
        ? await wasmEngineBeside(base, 'the follow-up golden test asks for wasm')
        : Engine.withRuntime({ ...rt, graphCapture: backend === 'webgpu-captured' });
  }, 300_000);
  afterAll(async () => engine?.dispose());

  const names = backend === 'webgpu-plain' ? ['qwen2-siglip-112'] : NAMES;
  it.each(names)(
    '%s: turn 1 as recorded, then the follow-up on the kept caches = the whole conversation in transformers (ids, logits within 1e-4, 16 greedy tokens)',
    async (name) => {
      const g = golden(name);
      if (!packages.has(name)) packages.set(name, fixturePackage(name));
      await engine.load(memoryReader(await packages.get(name)!, name));
      if (backend === 'webgpu-captured') expect(engine.model!.decoder?.ready).toBe(true);
      else expect(engine.model!.decoder).toBeNull();
      const images = goldenImages(name, g);
      const [q1, q2] = g.questions;
      const ask = (r: Partial<GenerateRequest>, maxNewTokens: number) =>
        engine.generate({
          question: q1,
          settings: { method: 'none' },
          options: { maxNewTokens, temperature: 0, topP: 1, seed: 0 },
          ...r,
        });

      const t1 = await ask({ images, keepConversation: true }, g.turn1.tokens.length);
      expect(t1.inputIds).toEqual(g.turn1.input_ids);
      expect(t1.tokenIds).toEqual(g.turn1.tokens);
      expect(t1.text).toBe(g.turn1.answer); // what the template renders as the assistant's turn

      const t2 = await ask({ conversation: t1.conversation!.id, question: q2 }, 16);
      const err = maxLogitError(g, t2.firstStepLogits);
      console.log(
        `${name} on ${backend}: follow-up ${JSON.stringify(t2.trace.followUp)}, max |Δlogit| ${err.toExponential(2)} over the vocabulary (golden min margin ${g.min_margin.toFixed(4)})`,
      );
      expect(t2.trace.followUp).toMatchObject({ turn: 2, cache: 'reused' });
      const fu = t2.trace.followUp as { reusedTokens: number; newTokens: number };
      expect(fu.reusedTokens + fu.newTokens).toBe(g.input_ids.length);
      // The images were not prefilled again: the kept rows reach past them.
      expect(fu.reusedTokens).toBeGreaterThanOrEqual(t1.trace.layout.preLength + t1.trace.layout.visualCount);
      expect(t2.inputIds).toEqual(g.input_ids);
      expect(err).toBeLessThan(LOGIT_TOL);
      expect(t2.tokenIds).toEqual(g.greedy16);

      // A fresh request for the whole conversation (nothing kept) answers the same.
      if (backend !== 'wasm' && name !== 'qwen2-siglip-112') return;
      const fresh = await ask({ images, history: [{ question: q1, answer: t1.text }], question: q2 }, 16);
      expect(fresh.trace.followUp).toMatchObject({ cache: 'prefilled' });
      expect(fresh.inputIds).toEqual(g.input_ids);
      expect(fresh.tokenIds).toEqual(t2.tokenIds);
    },
    300_000,
  );
});
