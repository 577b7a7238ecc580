/**
 * Follow-up questions (issue 15). A conversation the engine keeps holds, after each turn, every
 * layer's KV cache as decode left it (pruned layers pruned: SparseVLM's decisions are made in
 * prefill, and the cache holds their result), the ids those caches stand for, and the
 * request's images (their pixels and vision embeddings stay in the engine's per-image caches).
 *
 * A follow-up renders the whole conversation with the checkpoint's chat template (images in
 * the first user turn, each answer as the assistant's, then the new question) — exactly the
 * prompt a fresh request for the whole conversation tokenizes — and prefills only the ids past
 * the longest common prefix with what the caches hold. That prefix is normally everything
 * cached: the previous prompt and the answer tokens that went through the layers (the answer's
 * last token — end of turn, or the length limit's — never did). Where the template renders
 * the answer into other ids than the ones generated (a space, an end-of-turn token), the
 * caches are cut back to the common prefix first, so the follow-up's ids always equal the
 * fresh request's.
 *
 * Positions continue each layer's own numbering, as a decode step's do (decode.ts): the
 * unpruned length for methods that keep original positions, each layer's cache length for
 * methods that renumber.
 *
 * Sequence in a cache row order: [pre | visual (pruned per layer) | text of every turn]. Text
 * rows map one to one to ids past the visual block, so cutting d ids off the end cuts d rows
 * off every layer.
 */
import { cancelled } from './errors';
import type { LayerCache } from './layerCache';
import type { LoadedPackage } from './loader';
import type { OrtTensor } from './ortEnv';
import type { TensorOps } from './ops';
import type { PhaseClock } from './phaseClock';
import type { PrefillMarks } from './prefill';
import type { ConversationTurn, FollowUpMode, MethodSettings } from './protocol';
import type { PruneMethod } from '../prune/method';
import type { FollowUpTrace, RaterTrace, StageTrace } from '../common/trace';
import { EngineError } from '../common/errors';
import type { GpuDoor } from '../gpu/device';
import { heldKvBytes } from './kvBytes';

/** An image of the conversation as its first request gave it (engine.ts RequestImage). */
export interface ConversationImage {
  bytes: Uint8Array;
  name: string;
  frame?: { index: number; of: number };
}

export interface KeptConversation {
  id: string;
  images: ConversationImage[];
  /** Every answered turn, in order. */
  history: ConversationTurn[];
  /** The method settings its caches were pruned with (a follow-up with others prefills again). */
  settings: MethodSettings;
  /** What the caches stand for: the unpruned conversation's ids so far, in order. */
  ids: number[];
  /** Each layer's cache (rows: pre, the visual tokens that layer kept, then one per text id). */
  caches: LayerCache[];
  /** The pruning turn's stages and raters (a follow-up on these caches reports them: its tokens saw those kept sets). */
  stages?: StageTrace[];
  raters?: RaterTrace;
  /** Visual tokens entering each layer, and after the last one, as the pruning turn left them. */
  visualPerLayer: number[];
  visualAfter: number;
  /** End of the visual block in `ids` (the caches are never cut back before it). */
  visualEnd: number;
}

export const FOLLOW_UP_MODES: readonly FollowUpMode[] = ['reuse-cache', 'prefill-again'];
export const DEFAULT_FOLLOW_UP: FollowUpMode = 'reuse-cache';

/** Throws EngineError('input', 'bad-option') for a follow-up mode that does not exist. */
export function checkFollowUpMode(mode: unknown): FollowUpMode {
  if (mode === undefined) return DEFAULT_FOLLOW_UP;
  if (!FOLLOW_UP_MODES.includes(mode as FollowUpMode))
    throw new EngineError(
      'input',
      'bad-option',
      `followUp must be one of ${FOLLOW_UP_MODES.join(', ')}, not ${String(mode)}.`,
      { option: 'followUp', value: mode },
    );
  return mode as FollowUpMode;
}

const sameSettings = (a: MethodSettings, b: MethodSettings): boolean =>
  a.method === b.method && a.budget === b.budget && JSON.stringify(a.params ?? {}) === JSON.stringify(b.params ?? {});

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** How a follow-up continues: from the kept caches (cut back by `drop` rows, then `newIds`), or a whole prefill and why. */
export type FollowUpPlan =
  { kind: 'reuse'; reused: number; drop: number; newIds: number[] } | { kind: 'prefill'; reason: string };

const longestCommonPrefix = (a: readonly number[], b: readonly number[]): number => {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
};

/**
 * Whether `kept` can continue into a request for `fullIds` (the whole conversation rendered),
 * with these images, settings and mode; the first mismatch is the reason it cannot.
 */
export function planFollowUp(
  kept: KeptConversation,
  req: { fullIds: number[]; images: ConversationImage[]; settings: MethodSettings; mode: FollowUpMode },
): FollowUpPlan {
  if (req.mode === 'prefill-again')
    return { kind: 'prefill', reason: 'followUp is prefill-again: the whole conversation is pruned again' };
  if (!sameSettings(kept.settings, req.settings))
    return { kind: 'prefill', reason: 'the method settings differ from the ones the kept caches were pruned with' };
  if (
    kept.images.length !== req.images.length ||
    kept.images.some((im, i) => !sameBytes(im.bytes, req.images[i].bytes))
  )
    return { kind: 'prefill', reason: 'the images differ from the conversation’s' };
  const k = longestCommonPrefix(kept.ids, req.fullIds);
  if (k < kept.visualEnd)
    return { kind: 'prefill', reason: 'the conversation differs from the kept one before the end of its images' };
  // At least one id goes through the layers: its logits are the answer's first.
  const reused = Math.min(k, req.fullIds.length - 1);
  return { kind: 'reuse', reused, drop: kept.ids.length - reused, newIds: req.fullIds.slice(reused) };
}

/**
 * The first `rows − drop` rows of each head of a cache [1,Hkv,rows,hd]: a new tensor (the
 * kept one stays whole, so a follow-up that is stopped leaves the conversation as it was).
 */
export function cutCache(ops: TensorOps, cache: LayerCache, drop: number): LayerCache {
  const [, heads, rows, hd] = cache.key.dims;
  const length = rows - drop;
  const cut = (t: OrtTensor) =>
    ops.concatRows(
      Array.from({ length: heads }, (_, h) => ({ tensor: t, fromRow: h * rows, rows: length })),
      hd,
      [1, heads, length, hd],
    );
  return { key: cut(cache.key), value: cut(cache.value), length };
}

export interface FollowUpPrefillArgs {
  pkg: LoadedPackage;
  ops: TensorOps;
  method: PruneMethod;
  clock: PhaseClock;
  kept: KeptConversation;
  plan: Extract<FollowUpPlan, { kind: 'reuse' }>;
  signal?: AbortSignal;
  track: (tensor: OrtTensor) => OrtTensor;
  untrack: (tensor: OrtTensor) => void;
}

export interface FollowUpPrefillResult {
  /** Each layer's cache with the new ids appended (new tensors; the kept ones are untouched). */
  caches: LayerCache[];
  logits: Float32Array;
  marks: PrefillMarks;
}

/**
 * The new ids [1,S] through embed, every layer against its kept cache (cut back first when
 * the plan says so), and the head. Marks the phase clock as prefill.ts does (no vision, no
 * method: those spans are 0), so the trace's timings read the same.
 */
export async function prefillFollowUp(args: FollowUpPrefillArgs): Promise<FollowUpPrefillResult> {
  const { pkg, ops, method, clock, kept, plan, track, untrack } = args;
  const s = pkg.sessions;
  const check = (phase: string) => {
    if (args.signal?.aborted) throw cancelled(`follow-up ${phase}`);
  };
  const dispose = (t: OrtTensor) => {
    untrack(t);
    t.dispose();
  };
  const start = await clock.mark('FollowUp.start');
  const vision = await clock.mark('FollowUp.vision');
  check('embedding');
  const S = plan.newIds.length;
  const unprunedStart = plan.reused; // ids before the new ones, unpruned
  let hidden = track((await s.embed.run({ input_ids: track(ops.ids(plan.newIds)) })).embeds);
  const embed = await clock.mark('FollowUp.embed');
  const caches: LayerCache[] = [];
  const layers: PrefillMarks['layers'] = [];
  for (const [l, layer] of s.layers.entries()) {
    check(`layer ${l}`);
    let past = kept.caches[l];
    if (plan.drop > 0) {
      const c = cutCache(ops, past, plan.drop);
      past = { key: track(c.key), value: track(c.value), length: c.length };
    }
    const first = method.decodePositions === 'unpruned-length' ? unprunedStart : past.length;
    const out = await layer.run({
      hidden,
      position_ids: track(ops.ids(Array.from({ length: S }, (_, i) => first + i))),
      past_key: past.key,
      past_value: past.value,
    });
    dispose(hidden);
    if (plan.drop > 0) {
      dispose(past.key);
      dispose(past.value);
    }
    out.query.dispose();
    hidden = track(out.hidden_out);
    caches.push({ key: track(out.present_key), value: track(out.present_value), length: past.length + S });
    const mark = await clock.mark(`FollowUp.layer${l}`);
    layers.push({ layer: mark, hook: mark });
  }
  check('head');
  const logitsT = (await s.head.run({ hidden })).logits;
  const logits = (await logitsT.getData(true)) as Float32Array;
  logitsT.dispose();
  dispose(hidden);
  const head = await clock.mark('FollowUp.head');
  return { caches, logits, marks: { start, vision, embed, begin: embed, layers, head } };
}

/** The trace's account of a turn that continued a conversation. */
export function followUpTrace(
  turn: number,
  mode: FollowUpMode,
  plan: FollowUpPlan | { kind: 'prefill'; reason: string },
): FollowUpTrace {
  return plan.kind === 'reuse'
    ? {
        turn,
        mode,
        cache: 'reused',
        reusedTokens: plan.reused,
        droppedTokens: plan.drop,
        newTokens: plan.newIds.length,
      }
    : { turn, mode, cache: 'prefilled', reason: plan.reason };
}

/**
 * A GPU cache [1,Hkv,capacity,hd] (capturedDecode.ts keeps fixed-capacity ones) → a new
 * tensor with its first `length` rows of each head, [1,Hkv,length,hd]: one copy per head, in a
 * buffer of the GPU door's pool (given back when the tensor is disposed), encoded into the
 * door's pending commands and submitted with them.
 */
export function copyFixedCache(
  ort: {
    Tensor: {
      fromGpuBuffer: (
        b: GPUBuffer,
        o: { dataType: 'float32' | 'float16'; dims: number[]; dispose: () => void },
      ) => OrtTensor;
    };
  },
  door: GpuDoor,
  src: GPUBuffer,
  shape: { heads: number; capacity: number; length: number; headDim: number; dtype: 'float32' | 'float16' },
): OrtTensor {
  const el = shape.dtype === 'float16' ? 2 : 4;
  const row = shape.headDim * el;
  const buffer = door.acquire(Math.max(16, shape.heads * shape.length * row), 'Conversation.kv');
  door.copy(
    Array.from({ length: shape.heads }, (_, h) => ({
      from: src,
      fromOffset: h * shape.capacity * row,
      to: buffer,
      toOffset: h * shape.length * row,
      bytes: shape.length * row,
    })),
  );
  door.flush();
  return ort.Tensor.fromGpuBuffer(buffer, {
    dataType: shape.dtype,
    dims: [1, shape.heads, shape.length, shape.headDim],
    dispose: () => door.release(buffer),
  });
}

/** The engine's kept conversations: the newest only (a 7B conversation of ~700 tokens holds ~0.37 GB of fp16 KV). */
export class ConversationStore {
  private kept: KeptConversation | null = null;
  private next = 1;

  newId(): string {
    return `conversation-${this.next++}`;
  }

  get(id: string | undefined): KeptConversation | null {
    return id !== undefined && this.kept?.id === id ? this.kept : null;
  }

  /**
   * Bytes of the kept conversation's KV caches (measured off its tensors, kvBytes.ts): they stay
   * on the device while any request runs, so the memory check counts them (memoryLimits.ts).
   */
  keptKvBytes(): number {
    return this.kept ? heldKvBytes(this.kept.caches, () => []).reduce((a, b) => a + b, 0) : 0;
  }

  /** Keep `c`, disposing whatever caches the one before held (unless they are `c`'s). */
  keep(conversation: KeptConversation): void {
    if (this.kept && this.kept.caches !== conversation.caches) disposeCaches(this.kept.caches);
    this.kept = conversation;
  }

  /** Forget every kept conversation (a new model, the engine disposed). */
  clear(): void {
    if (this.kept) disposeCaches(this.kept.caches);
    this.kept = null;
  }
}

function disposeCaches(caches: LayerCache[]): void {
  for (const c of caches) {
    c.key.dispose();
    c.value.dispose();
  }
}
