/**
 * Decode: one token through every layer against that layer's own cache. Two paths: captured
 * graphs with fixed-capacity caches (capturedDecode.ts, WebGPU, `rt.graphCapture`), or plain
 * session runs whose present KV (Concat of past and new) becomes the next past (below; wasm,
 * and WebGPU with capture off). The position of the
 * new token is the layer's cache length (methods that renumber) or the unpruned prompt length
 * plus the step ('unpruned-length', methods that keep original positions).
 */
import { cancelled } from './errors';
import type { LoadedPackage } from './loader';
import type { OrtTensor } from './ortEnv';
import type { TensorOps } from './ops';
import type { PruneMethod } from '../prune/method';
import type { LayerCache } from './layerCache';

/**
 * The plain path's per-token CPU time by part (ms summed over steps, this process), as the JS
 * thread sees it: the embedding run, the layers' runs, the head run; the captured path's twin is
 * `CapturedDecoder.counts` (the bench prints both: README, "what limits each phase now").
 */
export const plainDecodeCounts = { steps: 0, cpuMs: { embed: 0, layers: 0, head: 0 } };

export interface DecodeArgs {
  pkg: LoadedPackage;
  ops: TensorOps;
  method: PruneMethod;
  caches: LayerCache[];
  /** Prompt length before any pruning. */
  unprunedLength: number;
  /** The request's answer length at most: captured decode sizes its caches for it. */
  maxNewTokens: number;
  signal?: AbortSignal;
  track: (tensor: OrtTensor) => OrtTensor;
  untrack: (tensor: OrtTensor) => void;
}

/**
 * Run token `tokenId` (the `step`-th generated, 0-based) through all layers and the head.
 * Returns the logits [1, Vocab] where the head put them (a GPU buffer on WebGPU), tracked:
 * the caller picks the next token from them (engine.ts: argmax on the GPU for greedy) and
 * disposes them.
 */
export async function decodeStep(args: DecodeArgs, tokenId: number, step: number): Promise<OrtTensor> {
  const { pkg, track, untrack } = args;
  if (pkg.decoder?.ready) {
    // Captured graphs (capturedDecode.ts): a fresh prefill already moved its KV into the fixed
    // caches layer by layer (prefill.ts `storeCache`, caches empty); a follow-up's caches move now.
    if (step === 0 && args.caches.length > 0) {
      // Each layer's buffers go back as soon as its copy is submitted (peak GPU bytes: not every
      // layer's cache twice).
      await pkg.decoder.begin(
        args.caches,
        (c) => {
          for (const t of [c.key, c.value]) {
            untrack(t);
            t.dispose();
          }
        },
        args.maxNewTokens,
      );
      args.caches.length = 0;
    }
    return track(await pkg.decoder.step(args.ops, args.method, args.unprunedLength, tokenId, step, args.signal));
  }
  const dispose = (t: OrtTensor) => {
    untrack(t);
    t.dispose();
  };
  const s = pkg.sessions;
  if (args.signal?.aborted) throw cancelled(`decode step ${step}`);
  const ms = plainDecodeCounts.cpuMs;
  let t = performance.now();
  const lap = (part: keyof typeof ms) => {
    const now = performance.now();
    ms[part] += now - t;
    t = now;
  };
  let hidden = track((await s.embed.run({ input_ids: track(args.ops.ids([tokenId])) })).embeds);
  lap('embed');
  for (const [l, layer] of s.layers.entries()) {
    if (args.signal?.aborted) {
      dispose(hidden);
      throw cancelled(`decode step ${step}, layer ${l}`);
    }
    const cache = args.caches[l];
    const position = args.method.decodePositions === 'unpruned-length' ? args.unprunedLength + step : cache.length;
    const out = await layer.run({
      hidden,
      position_ids: track(args.ops.ids([position])),
      past_key: cache.key,
      past_value: cache.value,
    });
    dispose(hidden);
    dispose(cache.key);
    dispose(cache.value);
    out.query.dispose();
    hidden = track(out.hidden_out);
    args.caches[l] = { key: track(out.present_key), value: track(out.present_value), length: cache.length + 1 };
  }
  lap('layers');
  const logits = track((await s.head.run({ hidden })).logits);
  dispose(hidden);
  lap('head');
  plainDecodeCounts.steps++;
  return logits;
}
