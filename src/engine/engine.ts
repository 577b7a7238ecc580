/**
 * The engine behind one API, in the browser worker and in Node: init ORT, load a package,
 * answer questions one at a time (requests are serialised: ORT sessions must not run
 * concurrently — browser-anchors.md §1.3).
 */
import { GpuDoor, type GpuFault } from '../gpu/device';
import { ArgmaxLogitsKernel } from '../gpu/kernels/argmax_logits';
import { CpuPruneBackend } from '../prune/cpuBackend';
import { GpuPruneBackend } from '../prune/gpuBackend';
import { costFigures } from '../prune/flops';
import type { ModelDims, PruneMethod } from '../prune/method';
import { createMethod, UnknownMethodError } from '../prune/registry';
import { cpuBridge, gpuBridge, type BackendBridge } from './bridge';
import { decodeStep } from './decode';
import { heldKvBytes } from './kvBytes';
import { abortable, asEngineError } from './errors';
import { InputPipeline, type PreparedPixels } from './inputs';
import { checkPromptMemory } from './memoryLimits';
import { loadPackage, releasePackage, type LoadedPackage } from './loader';
import { checkGenerateOptions } from './options';
import {
  ConversationStore,
  checkFollowUpMode,
  copyFixedCache,
  followUpTrace,
  planFollowUp,
  prefillFollowUp,
  type FollowUpPlan,
  type KeptConversation,
} from './conversation';
import type { LayerCache } from './layerCache';
import { CpuTensorOps, GpuTensorOps, type TensorOps } from './ops';
import { initOrt, type OrtInitOptions, type OrtRuntime, type OrtTensor } from './ortEnv';
import { createPhaseClock, type PhaseClock } from './phaseClock';
import { prefill, prefillTimings } from './prefill';
import type {
  AdapterInfo,
  ConversationTurn,
  GenerateOptions,
  LoadProgress,
  MethodSettings,
  ModelInfo,
} from './protocol';
import { sampleToken, topK } from './sampling';
import { TextStream } from './textStream';
import type { PackageReader } from '../package/source';
import type { RequestTrace } from '../common/trace';
import { seededRandom } from '../common/random';
import { EngineError } from '../common/errors';

/** One image of a request; `frame` when it is a video frame (index in the source, source frame count). */
export interface RequestImage {
  bytes: Uint8Array;
  name: string;
  frame?: { index: number; of: number };
}

export interface GenerateRequest {
  /** One image; or `images`, several images or video frames in prompt order (`images` wins when both are given). */
  image?: RequestImage;
  images?: RequestImage[];
  question: string;
  /**
   * Earlier turns of the conversation this question follows (issue 15), rendered before it
   * with the images in the first user turn. Absent with `conversation`: the kept one's.
   */
  history?: ConversationTurn[];
  /**
   * A conversation the engine kept (a result's `conversation.id`): a follow-up prefills only
   * its new tokens on the kept caches (engine/conversation.ts; `options.followUp`). Its images
   * and history are the kept ones unless given; when the engine no longer keeps it, the given
   * images and history are prefilled whole.
   */
  conversation?: string;
  /** Keep this request's caches afterwards for a follow-up (the result's `conversation`). */
  keepConversation?: boolean;
  settings: MethodSettings;
  options: GenerateOptions;
  signal?: AbortSignal;
  /**
   * Each generated token, with the text that became final with it (textStream.ts: possibly '',
   * never a token decoded alone). The pieces concatenated are always a prefix of the result's
   * `text`; the rest comes with the result.
   */
  onToken?: (tokenId: number, text: string, elapsedMs: number) => void;
}

/** The vision cache's key for an image's embeddings: its pixel key, per tower; null = not cached. */
/** A request with a video's frames and images: the app and the CLI refuse it too (one question takes one or the other). */
function videoWithImages(frames: number, images: number): EngineError {
  return new EngineError(
    'input',
    'video-with-images',
    `A video and images cannot go into one question: the video is fed as its frames, and the model would take the images for more frames (here ${frames} frame${frames === 1 ? '' : 's'} and ${images} image${images === 1 ? '' : 's'}). Ask about the video or the images.`,
    { frames, images },
  );
}

function visionKey(pixelKey: string | null, reuse: boolean | undefined, videoTower: boolean): string | null {
  if (reuse === false || pixelKey === null) return null;
  return videoTower ? `video:${pixelKey}` : pixelKey;
}

/** Images whose vision embeddings the engine keeps between requests (8 frames + a few; 7B shape: 9.4 MB each). */
export const VISION_CACHE_IMAGES = 16;

export interface GenerateResult {
  text: string;
  inputIds: number[];
  tokenIds: number[];
  firstStepTopLogits: { id: number; value: number }[];
  /** All first-step logits (Vocab), for golden checks; the worker does not post them. */
  firstStepLogits: Float32Array;
  trace: RequestTrace;
  /** The conversation kept for a follow-up (`keepConversation`): its id and answered turns so far. */
  conversation?: { id: string; turns: number };
}

export class Engine {
  private pkg: LoadedPackage | null = null;
  private inputs: InputPipeline | null = null;
  private bridge: BackendBridge | null = null;
  private ops: TensorOps | null = null;
  /** The GPU door on ORT's device (pool, read-back counter, faults); null on wasm. */
  private gpuDoor: GpuDoor | null = null;
  /** True while a package is being released (see doorFor: a device lost then is expected). */
  private releasing = false;
  /** Greedy token on the GPU (4-byte read-back per decode step); null on wasm. */
  private argmax: ArgmaxLogitsKernel | null = null;
  /** The last device loss or uncaptured GPU error (also handed to `onGpuFault`). */
  lastFault: GpuFault | null = null;
  /** Set by the worker/CLI to hear device loss and uncaptured errors as they happen. */
  onGpuFault: ((fault: GpuFault) => void) | null = null;
  /**
   * Phase timings' clock: 'auto' = GPU timestamps where ORT's device has 'timestamp-query'
   * (no CPU/GPU sync between prefill layers), else wall; 'wall' forces the wall clock
   * (a sync at every phase boundary), e.g. to compare the two.
   */
  clockPreference: 'auto' | 'wall' = 'auto';
  private clock: { clock: PhaseClock; door: GpuDoor | null; key: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** ORT tensors alive inside the current request; all disposed when it ends. */
  private live = new Set<OrtTensor>();
  /**
   * Vision embeddings by image content (the pixel key, SHA-256 of the bytes), kept across
   * requests of the loaded model: compare mode, asking again and repeated frames run
   * vision.onnx once per image. Most recently used last; trimmed to VISION_CACHE_IMAGES after
   * each request (never during one: its tensors may be in use), emptied when the model goes.
   */
  private visionCache = new Map<string, OrtTensor>();
  /** vision.onnx runs so far (cache misses), for tests and the benchmarks. */
  visionRuns = 0;
  /** Conversations kept for follow-ups (their KV caches), emptied when the model goes. */
  private conversations = new ConversationStore();

  private constructor(readonly rt: OrtRuntime) {}

  static async create(opts: OrtInitOptions = {}): Promise<Engine> {
    return new Engine(await initOrt(opts));
  }

  /**
   * An engine on a runtime the caller built. ORT is initialised once per realm, so a test that
   * compares backends in one process makes a wasm runtime from the WebGPU one's module.
   */
  static withRuntime(rt: OrtRuntime): Engine {
    return new Engine(rt);
  }

  get adapter(): AdapterInfo {
    return this.rt.adapter;
  }
  get model(): LoadedPackage | null {
    return this.pkg;
  }
  /** Engine-made GPU buffers alive now (the splice buffers); ORT's are counted by ORT. */
  get engineLiveBuffers(): number {
    return this.ops instanceof GpuTensorOps ? this.ops.liveBuffers : 0;
  }
  /** The GPU door (pool and read-back counters) while a package is loaded on WebGPU. */
  get door(): GpuDoor | null {
    return this.gpuDoor;
  }

  /** The one door to ORT's device (STYLE.md rule 3): our kernels' buffer pool, read-back counter and fault routing. */
  private doorFor(device: GPUDevice): GpuDoor {
    if (!this.gpuDoor || this.gpuDoor.device !== device) {
      const door: GpuDoor = new GpuDoor(device, {
        onFault: (f) => {
          // Releasing the last session may end onnxruntime's device ('destroyed'): expected, not
          // a fault, while we release or load the next package, or once another device took its place.
          if (f.kind === 'lost' && (this.releasing || door !== this.gpuDoor)) return;
          this.lastFault = f;
          this.onGpuFault?.(f);
        },
      });
      this.gpuDoor = door;
    }
    return this.gpuDoor;
  }

  /** The phase clock for the loaded model and preference (made once, reused by every request). */
  private phaseClock(): PhaseClock {
    const numLayers = this.pkg!.manifest.text.numLayers;
    const door = this.rt.device() ? this.gpuDoor : null;
    const key = `${this.clockPreference}:${numLayers}`;
    if (!this.clock || this.clock.door !== door || this.clock.key !== key) {
      this.clock?.clock.destroy();
      this.clock = {
        clock: createPhaseClock(door, () => this.ops!.sync(), numLayers, this.clockPreference),
        door,
        key,
      };
    }
    return this.clock.clock;
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => {});
    return run;
  }

  load(reader: PackageReader, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    return this.serial(async () => {
      // A package refused by its manifest or file list leaves the loaded one in place; past that
      // point (sha256 is checked while reading) the old one is released first, so that two
      // packages never hold GPU memory at once.
      const pkg = await loadPackage(this.rt, reader, onProgress, async () => {
        if (this.pkg) {
          this.releasing = true;
          this.dropVisionCache(0);
          this.conversations.clear();
          await releasePackage(this.pkg);
          this.pkg = null;
        }
      }).catch((e) => {
        this.releasing = false;
        throw e;
      });
      this.inputs = new InputPipeline(pkg.manifest, pkg.texts);
      const device = this.rt.device();
      if (this.rt.backend === 'webgpu' && !device) {
        this.releasing = false;
        throw new EngineError('gpu', 'gpu-unavailable', 'onnxruntime created no WebGPU device.', {});
      }
      this.ops = device ? new GpuTensorOps(this.rt.ort, this.doorFor(device)) : new CpuTensorOps(this.rt.ort);
      const gpuBackend = device ? new GpuPruneBackend(this.doorFor(device)) : null;
      this.releasing = false; // the old device, if it ended, is no longer the door's
      // Our kernels' pipelines compile here, not in the first question's first pruning stage
      // (a pipeline already made for this device is not made again).
      await gpuBackend?.warmup();
      this.bridge = gpuBackend
        ? gpuBridge(this.rt.ort, gpuBackend, pkg.manifest.activationDtype)
        : cpuBridge(this.rt.ort, new CpuPruneBackend(), pkg.manifest.activationDtype);
      this.argmax = gpuBackend ? new ArgmaxLogitsKernel(gpuBackend.runner) : null;
      if (gpuBackend) await pkg.decoder?.attach(gpuBackend.runner); // captured decode's kv_write
      this.pkg = pkg;
      return this.info!;
    });
  }

  /** The loaded model in the protocol's words, null when none (also after a load that failed past releasing the old one). */
  get info(): ModelInfo | null {
    const pkg = this.pkg;
    if (!pkg || !this.inputs) return null;
    const m = pkg.manifest;
    return {
      name: m.name,
      dtype: m.dtype,
      numLayers: m.text.numLayers,
      hiddenSize: m.text.hiddenSize,
      visualTokens: m.vision.visualTokens,
      gridSize: m.vision.gridSize,
      imageSize: m.vision.imageSize,
      synthetic: Boolean(m.synthetic ?? m.source?.kind === 'synthetic'),
      bytes: pkg.bytes,
      imageFit: this.inputs.imageFit,
      // Frames through a video tower (Video-LLaVA) take their own count (CLS + grid), which the
      // app states apart from an image's.
      ...(m.video ? { video: { tokensPerFrame: m.video.tokensPerFrame } } : {}),
    };
  }

  dims(): ModelDims {
    const t = this.pkg!.manifest.text;
    return {
      numLayers: t.numLayers,
      hiddenSize: t.hiddenSize,
      numHeads: t.numHeads,
      numKvHeads: t.numKvHeads,
      headDim: t.headDim,
      intermediateSize: t.intermediateSize,
      ropeTheta: t.ropeTheta,
      visualTokens: this.pkg!.manifest.vision.visualTokens,
    };
  }

  private method(settings: MethodSettings, dims: ModelDims = this.dims()): PruneMethod {
    try {
      return createMethod(settings.method, { budget: settings.budget, params: settings.params }, dims);
    } catch (e) {
      if (e instanceof UnknownMethodError)
        throw new EngineError('input', 'unknown-method', e.message.replace(/^u/, 'U') + '.', {
          method: settings.method,
          known: e.known,
        });
      throw asEngineError(e, 'input', 'unknown-method');
    }
  }

  generate(req: GenerateRequest): Promise<GenerateResult> {
    return this.serial(() => this.run(req));
  }

  private async run(req: GenerateRequest): Promise<GenerateResult> {
    if (!this.pkg || !this.inputs || !this.bridge || !this.ops)
      throw new EngineError('model', 'no-model', 'Load a model first.', {});
    const pkg = this.pkg;
    const m = pkg.manifest;
    const tStart = performance.now();
    checkGenerateOptions(req.options);
    const followUpMode = checkFollowUpMode(req.options.followUp);
    let method = this.method(req.settings);
    const kept = this.conversations.get(req.conversation);
    if (req.conversation !== undefined && !kept && !req.images && !req.image)
      throw new EngineError(
        'input',
        'conversation-gone',
        'The engine no longer keeps this conversation (a newer one or another model replaced it); ask again with its images and earlier turns.',
        { conversation: req.conversation },
      );
    const images = req.images ?? (req.image ? [req.image] : (kept?.images ?? []));
    const history = req.history ?? kept?.history ?? [];
    // Limits (frames × tokens against the context) are checked here, before any image is decoded.
    const noun = images.length > 0 && images.every((im) => im.frame) ? 'frame' : 'image';
    const frames = images.filter((im) => im.frame).length;
    if (frames > 0 && noun === 'image') throw videoWithImages(frames, images.length - frames);
    // Video-LLaVA: frames go through its video tower (CLS kept), and are cached apart from the same picture as an image.
    const videoTower = noun === 'frame' && m.video !== undefined;
    const clsPerFrame = videoTower ? m.video!.tokensPerFrame - m.vision.gridSize[0] * m.vision.gridSize[1] : 0;
    const {
      inputIds,
      layout,
      images: imageBlocks,
    } = this.inputs.prepareText(req.question, req.options.maxNewTokens, images.length, noun, history);
    // Several images: the methods see one visual block (the span) and scale their tables to it.
    const dims: ModelDims = { ...this.dims(), visualTokens: layout.visualCount };
    if (images.length > 1) method = this.method(req.settings, dims);
    // A follow-up on kept caches needs no image work; any other request prefills everything.
    const plan: FollowUpPlan | null = kept
      ? planFollowUp(kept, { fullIds: inputIds, images, settings: req.settings, mode: followUpMode })
      : req.conversation !== undefined
        ? { kind: 'prefill', reason: 'the engine no longer keeps this conversation' }
        : null;
    // GPU memory (memoryLimits.ts): a prefill holds each layer's attention scores for its tokens
    // (over the kept rows too, for a follow-up) in one buffer; too big a prompt is refused here,
    // before any image is decoded. A kept conversation's caches count in the figures.
    checkPromptMemory(
      m,
      {
        promptTokens: plan?.kind === 'reuse' ? plan.newIds.length : inputIds.length,
        count: images.length,
        textTokens: inputIds.length - imageBlocks.reduce((sum, b) => sum + b.count, 0),
        maxNewTokens: req.options.maxNewTokens,
      },
      noun,
      this.adapter.backend === 'webgpu' ? this.adapter : null,
      {
        pastTokens: plan?.kind === 'reuse' ? Math.max(0, ...kept!.caches.map((c) => c.length)) - plan.drop : 0,
        keptKvBytes: this.conversations.keptKvBytes(),
      },
    );
    const pixels: PreparedPixels[] = [];
    if (plan?.kind !== 'reuse')
      for (const im of images) pixels.push(await this.inputs.preparePixels(im.bytes, im.name));
    const track = (t: OrtTensor) => {
      this.live.add(t);
      return t;
    };
    const untrack = (t: OrtTensor) => {
      this.live.delete(t);
    };
    // A follow-up on kept caches computes only its new tokens over each layer's kept rows (the trace's FLOPs).
    const followUpCost =
      plan?.kind === 'reuse'
        ? {
            newTokens: plan.newIds.length,
            pastPerLayer: kept!.caches.map((c) => c.length - plan.drop),
            pastUnpruned: plan.reused,
          }
        : null;
    const clock = this.phaseClock();
    clock.reset();
    // Captured decode: prefill moves each layer's KV into the decoder's fixed caches as it goes.
    const decoder = plan?.kind !== 'reuse' && pkg.decoder?.ready ? pkg.decoder : null;
    try {
      if (decoder) await decoder.start(req.options.maxNewTokens);
      const pre = await (
        plan?.kind === 'reuse'
          ? prefillFollowUp({
              pkg,
              ops: this.ops,
              method,
              clock,
              kept: kept!,
              plan,
              signal: req.signal,
              track,
              untrack,
            }).then((r) => ({
              ...r,
              layout: { ...layout, visualCount: kept!.visualAfter },
              visualPerLayer: kept!.visualPerLayer,
              // The pruning turn's decisions, which the caches carry (nothing is rated or pruned again).
              stages: kept!.stages ?? [],
            }))
          : prefill({
              ort: this.rt.ort,
              pkg,
              ops: this.ops,
              bridge: this.bridge,
              dims,
              method,
              clock,
              inputIds,
              layout,
              pixels,
              imageBlocks,
              videoTower,
              signal: req.signal,
              track,
              untrack,
              storeCache: decoder ? (l, c) => decoder.load(l, c) : undefined,
              cachedVisual: (i) => {
                const key = visionKey(pixels[i].key, req.options.reuseVision, videoTower);
                const hit = key === null ? undefined : this.visionCache.get(key);
                if (!hit) {
                  this.visionRuns += 1;
                  return null;
                }
                this.visionCache.delete(key!);
                this.visionCache.set(key!, hit);
                return hit;
              },
              keepVisual: (i, t) => {
                const key = visionKey(pixels[i].key, req.options.reuseVision, videoTower);
                if (key === null) return false;
                this.visionCache.set(key, t);
                return true;
              },
            })
      ).catch((e) => {
        throw asEngineError(e, 'answer', 'run-failed');
      });
      const prefillMs = performance.now() - tStart;
      const random = seededRandom(req.options.seed);
      const stop = new Set(m.text.eosTokenIds);
      const tokenIds: number[] = [];
      const decodeStepMs: number[] = [];
      const firstStepTopLogits = topK(pre.logits, 10);
      let firstTokenMs = 0;
      const decodeArgs = {
        pkg,
        ops: this.ops,
        method,
        caches: pre.caches,
        unprunedLength: inputIds.length,
        maxNewTokens: req.options.maxNewTokens,
        signal: req.signal,
        track,
        untrack,
      };
      let token = sampleToken(pre.logits, req.options.temperature, req.options.topP, random);
      const inputs = this.inputs;
      const stream = new TextStream((ids) => inputs.decode(ids));
      for (let step = 0; step < req.options.maxNewTokens; step++) {
        tokenIds.push(token);
        const elapsed = performance.now() - tStart;
        if (step === 0) firstTokenMs = elapsed;
        const piece = stream.push(token); // always: the final text comes from the stream
        req.onToken?.(token, piece, elapsed);
        if (stop.has(token) || step === req.options.maxNewTokens - 1) break;
        const t0 = performance.now();
        const logitsT = await decodeStep(decodeArgs, token, step).catch((e) => {
          throw asEngineError(e, 'answer', 'run-failed');
        });
        token = await abortable(
          this.nextToken(logitsT, req.options, random),
          req.signal,
          `decode step ${step}, token read-back`,
        );
        untrack(logitsT);
        logitsT.dispose();
        decodeStepMs.push(performance.now() - t0);
      }
      const answer = stream.finish().text;
      // Measured before a kept conversation takes the caches (kvBytes.ts).
      const kvBytesPerLayer = heldKvBytes(decodeArgs.caches, () => pkg.decoder?.fixedCaches() ?? []);
      const conversation = req.keepConversation
        ? this.keepConversation(decodeArgs.caches, untrack, {
            id: kept?.id ?? req.conversation ?? this.conversations.newId(),
            images,
            history: [...history, { question: req.question, answer }],
            settings: req.settings,
            // The ids the caches now stand for: the prompt, then the answer tokens that went through the layers.
            ids: [...inputIds, ...tokenIds.slice(0, -1)],
            visualPerLayer: pre.visualPerLayer,
            visualAfter: pre.layout.visualCount,
            visualEnd: layout.preLength + layout.visualCount,
          })
        : undefined;
      // One read-back of all phase marks (GPU clock), after the last token.
      const phases = prefillTimings(pre.marks, await clock.resolve());
      const visualPerLayer = pre.visualPerLayer;
      const after = visualPerLayer.slice(1).concat(pre.layout.visualCount);
      const rs = method.raterSelection?.() ?? null;
      const textStart = layout.preLength + layout.visualCount;
      const trace: RequestTrace = {
        method: method.name,
        params: {
          ...(method.params ?? {}),
          ...(req.settings.budget !== undefined ? { budget: req.settings.budget } : {}),
        },
        inputIds,
        layout,
        // A Video-LLaVA frame's tokens are its CLS, then the grid (tokensPerFrame = 1 + grid²): the
        // trace says so (`leading`), even for one frame, so that heatmaps draw the grid from origin + 1.
        ...(images.length > 1 || clsPerFrame > 0
          ? {
              images: images.map((im, i) => ({
                name: im.name,
                origin: imageBlocks[i].start - layout.preLength,
                patches: imageBlocks[i].count,
                ...(clsPerFrame > 0 ? { leading: clsPerFrame } : {}),
                ...(im.frame ? { frame: im.frame } : {}),
              })),
            }
          : {}),
        ...(rs
          ? {
              raters: {
                tokenIds: inputIds.slice(textStart),
                relevance: rs.relevance,
                raters: rs.raters,
                // Each token as the person reads it (the rater view showed "#id"); special tokens by name.
                tokenTexts: inputIds
                  .slice(textStart)
                  .map((id) => this.inputs!.tokenizer.decode([id], { skip_special_tokens: false })),
              },
            }
          : plan?.kind === 'reuse' && kept!.raters
            ? { raters: kept!.raters }
            : {}),
        visualPerLayer,
        equalTokens: after.reduce((s, v) => s + v, 0) / after.length,
        meanVisualIn: visualPerLayer.reduce((s, v) => s + v, 0) / visualPerLayer.length,
        stages: pre.stages,
        timings: {
          clock: clock.kind,
          ...phases,
          prefillMs,
          firstTokenMs,
          decodeStepMs,
          totalMs: performance.now() - tStart,
        },
        cost: {
          ...costFigures({
            dims,
            nonVisualTokens: layout.preLength + layout.textLength,
            visualPerLayer,
            visualTokens: layout.visualCount,
            decodeSteps: Math.max(0, tokenIds.length - 1),
            bytesPerElement: m.activationDtype === 'float16' ? 2 : 4,
            ...(followUpCost ? { followUp: followUpCost } : {}),
          }),
          kvBytesPerLayer,
        },
        generatedIds: tokenIds,
        ...(history.length > 0
          ? {
              followUp: followUpTrace(
                history.length + 1,
                followUpMode,
                plan ?? {
                  kind: 'prefill',
                  reason: 'no kept conversation was named: the whole conversation is prefilled',
                },
              ),
            }
          : {}),
      };
      if (conversation) {
        conversation.stages = trace.stages;
        conversation.raters = trace.raters;
      }
      return {
        text: answer,
        inputIds,
        tokenIds,
        firstStepTopLogits,
        firstStepLogits: pre.logits,
        trace,
        ...(conversation ? { conversation: { id: conversation.id, turns: conversation.history.length } } : {}),
      };
    } finally {
      for (const t of this.live) t.dispose();
      this.live.clear();
      this.dropVisionCache(VISION_CACHE_IMAGES);
    }
  }

  /**
   * The next token from a decode step's logits [1, Vocab]. Greedy on WebGPU: argmax on the
   * GPU, 4 bytes read back. Sampling (temperature > 0) needs the whole distribution for
   * top-p, so it reads the logits (Vocab × 4 bytes a step); so does the wasm backend, whose
   * logits are on the CPU already.
   */
  private async nextToken(logits: OrtTensor, options: GenerateOptions, random: () => number): Promise<number> {
    const greedy = !(options.temperature > 0);
    if (greedy && this.argmax && logits.location === 'gpu-buffer') {
      return this.argmax.pick(logits.gpuBuffer, logits.dims[logits.dims.length - 1]);
    }
    return sampleToken((await logits.getData()) as Float32Array, options.temperature, options.topP, random);
  }

  /**
   * Keep a request's caches as its conversation: the plain path's last caches (decode left
   * them in `caches`), or the captured decoder's fixed caches copied out (decode moved them
   * there). They leave the request's tracked set, so its end does not dispose them.
   */
  private keepConversation(
    caches: LayerCache[],
    untrack: (tensor: OrtTensor) => void,
    withoutCaches: Omit<KeptConversation, 'caches'>,
  ): KeptConversation {
    let kept: LayerCache[] = caches.slice();
    if (kept.length === 0) {
      const door = this.doorFor(this.rt.device()!);
      const { numKvHeads: heads, headDim } = this.pkg!.manifest.text;
      const dtype = this.pkg!.manifest.activationDtype === 'float16' ? 'float16' : 'float32';
      kept = this.pkg!.decoder!.fixedCaches().map((f) => {
        const shape = { heads, capacity: f.capacity, length: f.length, headDim, dtype } as const;
        return {
          key: copyFixedCache(this.rt.ort, door, f.key, shape),
          value: copyFixedCache(this.rt.ort, door, f.value, shape),
          length: f.length,
        };
      });
    }
    for (const l of kept) {
      untrack(l.key);
      untrack(l.value);
    }
    const conversation = { ...withoutCaches, caches: kept };
    this.conversations.keep(conversation);
    return conversation;
  }

  /** Dispose cached vision embeddings, oldest first, until at most `keep` remain. */
  private dropVisionCache(keep: number): void {
    for (const [key, t] of this.visionCache) {
      if (this.visionCache.size <= keep) break;
      this.visionCache.delete(key);
      t.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.serial(async () => {
      this.clock?.clock.destroy();
      this.clock = null;
      this.releasing = true; // from here on, a device that ends is expected to
      this.dropVisionCache(0);
      this.conversations.clear();
      if (this.pkg) await releasePackage(this.pkg);
      this.pkg = null;
    });
  }
}
