/**
 * Load a model package: manifest → every listed file read and checked (bytes, sha256) →
 * one ORT session per graph → each session run once on a tiny input (warm-up: the WebGPU EP
 * compiles shaders on first run, so that cost lands here and not on the first question).
 */
import { CapturedDecoder } from './capturedDecode';
import { GraphRewriteError, liftWeights } from './graphRewrite';
import { fusePrefillAttention } from './prefillAttention';
import { GpuBuffers } from './gpuBuffers';
import { CausalBiases, LiftedLayer, WeightUploads, type LayerSession } from './liftedLayer';
import { externalDataOf, parseManifest, type Manifest, type ManifestFile } from '../package/manifest';
import { sessionOptions, type OrtRuntime, type OrtSession } from './ortEnv';
import type { LoadProgress } from './protocol';
import { missingFile, type PackageReader } from '../package/source';
import { EngineError } from '../common/errors';
import { sha256Hex } from '../package/hash';
import { setMatMulAccuracy } from '../onnx/matmulAccuracy';
import { CapturedVision, visionCaptureRefusal, type VisionRunner } from './visionCapture';

export interface Sessions {
  /** A plain session, or a captured one when the tuning asks for it (visionCapture.ts). */
  vision: VisionRunner;
  /** Video-LLaVA's video tower (manifest graphs.videoVision), a plain session; absent otherwise. */
  videoVision?: OrtSession;
  embed: OrtSession;
  /** Plain sessions, or lifted layers (weights in engine buffers) when decode is captured. */
  layers: LayerSession[];
  head: OrtSession;
}

export interface LoadedPackage {
  manifest: Manifest;
  sessions: Sessions;
  /** Small text files the inputs need (tokenizer.json, tokenizer_config.json, preprocessor_config.json, config.json). */
  texts: Map<string, string>;
  bytes: number;
  label: string;
  /**
   * Decode through captured graphs (capturedDecode.ts), when the runtime asks for it
   * (`rt.graphCapture`) and every layer graph could be rewritten for it; null otherwise.
   * Ready once the engine attached its kernel runner.
   */
  decoder: CapturedDecoder | null;
  /** Why decode is not captured, when `rt.graphCapture` asked for it and it is not. */
  captureUnavailable: string | null;
  /** Engine-owned GPU buffers (lifted weights, caches, biases); null without capture. */
  gpuBuffers: GpuBuffers | null;
  /** Shared causal masks of the lifted layers; null without capture. */
  biases: CausalBiases | null;
  /** Why vision is not captured when `rt.tuning.visionCapture` asked for it; null otherwise. */
  visionCaptureUnavailable: string | null;
  /** Layers whose prefill session runs attention as one MultiHeadAttention node (prefillAttention.ts). */
  fusedAttentionLayers: number;
  /** Why some layer's prefill attention is not fused when `rt.tuning.fusedAttention` asked for it; null otherwise. */
  fusedAttentionUnavailable: string | null;
}

/** Layer outputs we keep on the GPU. */
export const LAYER_GPU_OUTPUTS = ['hidden_out', 'present_key', 'present_value', 'query'];
/** Logits stay on the GPU too: greedy decode picks the token there and reads back 4 bytes. */
export const HEAD_GPU_OUTPUTS = ['logits'];

/** Read one listed file and check it against the manifest. */
async function readVerified(
  reader: PackageReader,
  entry: ManifestFile,
  onBytes: (bytes: number) => void,
): Promise<Uint8Array> {
  const bytes = await reader.read(entry.path, onBytes);
  const bad =
    bytes.byteLength !== entry.bytes
      ? { code: 'size-mismatch' as const, msg: `has ${bytes.byteLength} bytes but the manifest says ${entry.bytes}` }
      : (await sha256Hex(bytes)) !== entry.sha256.toLowerCase()
        ? { code: 'sha256-mismatch' as const, msg: 'does not match its sha256 in the manifest' }
        : null;
  if (bad) {
    await reader.evict?.(entry.path); // a corrupt cached copy must not stick
    throw new EngineError(
      'model',
      bad.code,
      `The package file ${entry.path} ${bad.msg}; the package is damaged or was changed.`,
      { file: entry.path, expectedBytes: entry.bytes, gotBytes: bytes.byteLength, expectedSha256: entry.sha256 },
    );
  }
  return bytes;
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export async function loadPackage(
  rt: OrtRuntime,
  reader: PackageReader,
  onProgress: (p: LoadProgress) => void = () => {},
  /** Runs once the manifest is valid and every listed file is present, before any file is read (the engine releases the old package here). */
  beforeRead: () => Promise<void> = async () => {},
): Promise<LoadedPackage> {
  let manifestText: string;
  try {
    manifestText = new TextDecoder().decode(await reader.read('manifest.json'));
  } catch (e) {
    if (e instanceof EngineError && e.code === 'file-missing') {
      throw new EngineError(
        'model',
        'manifest-missing',
        `No manifest.json in ${reader.label}: this is not a model package.`,
        { where: reader.label },
      );
    }
    throw e;
  }
  const manifest = parseManifest(manifestText);
  await checkFilesPresent(reader, manifest);
  await beforeRead();
  const totalBytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
  const filesTotal = manifest.files.length;
  let loadedBytes = 0;
  let filesDone = 0;
  const report = (phase: LoadProgress['phase'], file?: string, extra = 0) =>
    onProgress({ phase, file, loadedBytes: loadedBytes + extra, totalBytes, filesDone, filesTotal });

  const fetchFile = async (f: ManifestFile): Promise<Uint8Array> => {
    report('download', f.path);
    const bytes = await readVerified(reader, f, (n) => report('download', f.path, n));
    loadedBytes += f.bytes;
    filesDone += 1;
    report('verify', f.path);
    return bytes;
  };

  const g = manifest.graphs;
  const graphPaths = new Set([g.vision, ...(g.videoVision ? [g.videoVision] : []), g.embed, g.head, ...g.layers]);
  const dataPaths = new Set([...graphPaths].flatMap((p) => externalDataOf(manifest, p).map((f) => f.path)));
  const texts = new Map<string, string>();
  for (const f of manifest.files) {
    if (graphPaths.has(f.path) || dataPaths.has(f.path)) continue;
    const bytes = await fetchFile(f);
    if (/\.(json|jinja|txt)$/.test(f.path)) texts.set(f.path, new TextDecoder().decode(bytes));
  }

  // One graph at a time: read, verify, create the session, drop the bytes (peak memory = one layer).
  const created: LayerSession[] = [];
  const readGraph = async (path: string) => {
    const graphFile = manifest.files.find((f) => f.path === path)!;
    let model = await fetchFile(graphFile);
    // The tuning's MatMulNBits accuracy level (onnx/matmulAccuracy.ts): a WebGPU kernel choice
    // (DP4A), made per runtime; wasm keeps the package's.
    if (rt.tuning.matmulAccuracy !== null && rt.backend === 'webgpu')
      model = setMatMulAccuracy(model, rt.tuning.matmulAccuracy).model;
    const external = [];
    for (const d of externalDataOf(manifest, path)) {
      // The protobuf records the data file relative to the graph (ARCHITECTURE.md).
      external.push({ path: basename(d.path), data: await fetchFile(d) });
    }
    return { model, external };
  };
  const open = async (path: string, model: Uint8Array, options: Parameters<typeof sessionOptions>) => {
    report('session', path);
    try {
      const s = await rt.ort.InferenceSession.create(model, sessionOptions(...options));
      created.push(s);
      return s;
    } catch (e) {
      throw new EngineError(
        'model',
        'session-failed',
        `onnxruntime could not open ${path}: ${(e as Error).message.split('\n')[0]}`,
        { file: path },
      );
    }
  };
  const createSession = async (path: string, gpuOutputs: string[]): Promise<OrtSession> => {
    const { model, external } = await readGraph(path);
    return open(path, model, [rt, gpuOutputs, external]);
  };
  let gpu: GpuBuffers | null = null;
  let biases: CausalBiases | null = null;
  let uploads: WeightUploads | null = null;
  let captureUnavailable: string | null = null;
  let fusedAttentionLayers = 0;
  let fusedAttentionUnavailable: string | null = null;
  /** A layer with its weights lifted into engine buffers; null when its graph cannot be rewritten. */
  const createLifted = async (path: string): Promise<LiftedLayer | null> => {
    const { model, external } = await readGraph(path);
    let lifted;
    try {
      lifted = liftWeights(path, model, new Map(external.map((e) => [e.path, e.data])));
    } catch (e) {
      if (!(e instanceof GraphRewriteError)) throw e;
      captureUnavailable = e.message;
      return null;
    }
    // The prefill session only: the decode graph is made from the un-fused `lifted.model`.
    const prefill = rt.tuning.fusedAttention ? fusePrefillAttention(lifted.model, manifest.text) : null;
    if (prefill?.refusal) fusedAttentionUnavailable ??= `${path}: ${prefill.refusal}`;
    const session = await open(path, prefill?.model ?? lifted.model, [rt, LAYER_GPU_OUTPUTS]);
    if (prefill && prefill.refusal === null) fusedAttentionLayers += 1;
    const layer = new LiftedLayer(
      path,
      session,
      lifted.model,
      await uploads!.upload(path, lifted.weights),
      biases!,
      uploads!,
    );
    created[created.length - 1] = layer; // release() of the lifted layer also frees its weights
    return layer;
  };
  let visionCaptureUnavailable: string | null = null;
  let capturedVision: CapturedVision | null = null;
  const createVision = async (): Promise<VisionRunner> => {
    if (!rt.tuning.visionCapture) return createSession(g.vision, ['visual_embeds']);
    const refusal = visionCaptureRefusal(manifest.dtype);
    if (refusal !== null) {
      visionCaptureUnavailable = refusal;
      return createSession(g.vision, ['visual_embeds']);
    }
    const { model, external } = await readGraph(g.vision);
    report('session', g.vision);
    const m = manifest;
    const made = await CapturedVision.create(rt, model, external, {
      imageSize: m.vision.imageSize,
      visualTokens: m.vision.visualTokens,
      hiddenSize: m.text.hiddenSize,
      act: m.activationDtype === 'float16' ? 'float16' : 'float32',
    });
    if (made instanceof CapturedVision) return (capturedVision = made);
    visionCaptureUnavailable = made.unavailable;
    return open(g.vision, model, [rt, ['visual_embeds'], external]);
  };
  try {
    const vision = await createVision();
    // Not captured (visionCapture.ts captures the image tower): frames are few and run once per video.
    const videoVision = g.videoVision ? await createSession(g.videoVision, ['visual_embeds']) : undefined;
    const embed = await createSession(g.embed, ['embeds']);
    const device = rt.device();
    const capture = rt.graphCapture && rt.backend === 'webgpu' && device !== null;
    if (rt.graphCapture && !capture) captureUnavailable = 'graph capture needs the WebGPU backend';
    if (capture) {
      gpu = await GpuBuffers.create(rt.ort, device, { exact: rt.tuning.exactBuffers });
      biases = new CausalBiases(gpu);
      uploads = new WeightUploads(gpu);
    }
    const layers: LayerSession[] = [];
    for (const p of g.layers) {
      const lifted = capture && captureUnavailable === null ? await createLifted(p) : null;
      layers.push(lifted ?? (await createSession(p, LAYER_GPU_OUTPUTS)));
      if (!lifted && rt.tuning.fusedAttention)
        fusedAttentionUnavailable ??=
          'prefill attention is fused in lifted layer graphs only (decode through graph capture)';
    }
    (uploads as WeightUploads | null)?.done();
    const head = await createSession(g.head, HEAD_GPU_OUTPUTS);
    const sessions = { vision, ...(videoVision ? { videoVision } : {}), embed, layers, head };
    const allLifted = layers.every((l) => l instanceof LiftedLayer);
    const decoder =
      capture && allLifted ? new CapturedDecoder(rt, manifest, layers as LiftedLayer[], embed, head, gpu!) : null;
    const perSession = rt.tuning.decodeLayersPerSession;
    if (decoder && perSession !== null) decoder.layersPerSession = Math.min(perSession, layers.length);
    await warmUp(rt, manifest, sessions, (file) => report('warmup', file));
    return {
      manifest,
      sessions,
      texts,
      bytes: totalBytes,
      label: reader.label,
      decoder,
      captureUnavailable,
      gpuBuffers: gpu,
      biases,
      visionCaptureUnavailable,
      fusedAttentionLayers,
      fusedAttentionUnavailable,
    };
  } catch (e) {
    await (capturedVision as CapturedVision | null)?.release();
    await Promise.all(created.map((s) => s.release().catch(() => {})));
    biases?.release();
    await gpu?.release();
    throw e;
  }
}

/**
 * Every listed file exists (and has its listed size, where the reader knows sizes) before
 * anything is read or any session is created: a missing layer file is refused at once.
 * Readers without `stat` leave this to the per-file reads.
 */
async function checkFilesPresent(reader: PackageReader, manifest: Manifest): Promise<void> {
  const stat = reader.stat?.bind(reader);
  if (!stat) return;
  const found = await Promise.all(manifest.files.map(async (f) => ({ f, s: await stat(f.path) })));
  const missing = found.filter((x) => x.s === null).map((x) => x.f.path);
  if (missing.length > 0) {
    if (missing.length === 1) throw missingFile(missing[0], reader.label);
    const more = `${missing.slice(1, 4).join(', ')}${missing.length > 4 ? ', …' : ''}`;
    throw new EngineError(
      'model',
      'file-missing',
      `The package file ${missing[0]} is missing from ${reader.label} (and ${missing.length - 1} more: ${more}).`,
      { file: missing[0], where: reader.label, missing },
    );
  }
  for (const { f, s } of found) {
    if (s && s.bytes !== null && s.bytes !== f.bytes) {
      throw new EngineError(
        'model',
        'size-mismatch',
        `The package file ${f.path} has ${s.bytes} bytes but the manifest says ${f.bytes}; the package is damaged or was changed.`,
        { file: f.path, expectedBytes: f.bytes, gotBytes: s.bytes },
      );
    }
  }
}

/** Run every graph once on the smallest inputs it accepts; outputs are disposed at once. */
async function warmUp(
  rt: OrtRuntime,
  manifest: Manifest,
  sessions: Sessions,
  report: (file: string) => void,
): Promise<void> {
  const { Tensor } = rt.ort;
  const act = manifest.activationDtype === 'float16' ? 'float16' : 'float32';
  const zerosAct = (dims: number[]) =>
    new Tensor(
      act,
      act === 'float16'
        ? new Uint16Array(dims.reduce((a, b) => a * b, 1))
        : new Float32Array(dims.reduce((a, b) => a * b, 1)),
      dims,
    );
  const dispose = (out: Record<string, { dispose(): void }>) => {
    for (const t of Object.values(out)) t.dispose();
  };
  const size = manifest.vision.imageSize;
  report(manifest.graphs.vision);
  dispose(
    await sessions.vision.run({
      pixel_values: new Tensor('float32', new Float32Array(3 * size * size), [1, 3, size, size]),
    }),
  );
  if (sessions.videoVision) {
    report(manifest.graphs.videoVision!);
    dispose(
      await sessions.videoVision.run({
        pixel_values: new Tensor('float32', new Float32Array(3 * size * size), [1, 3, size, size]),
      }),
    );
  }
  report(manifest.graphs.embed);
  dispose(await sessions.embed.run({ input_ids: new Tensor('int64', new BigInt64Array(1), [1, 1]) }));
  const { hiddenSize: D, numKvHeads: Hkv, headDim: hd } = manifest.text;
  for (const [i, layer] of sessions.layers.entries()) {
    report(manifest.graphs.layers[i]);
    dispose(
      await layer.run({
        hidden: zerosAct([1, 1, D]),
        position_ids: new Tensor('int64', new BigInt64Array(1), [1, 1]),
        past_key: zerosAct([1, Hkv, 0, hd]),
        past_value: zerosAct([1, Hkv, 0, hd]),
      }),
    );
  }
  report(manifest.graphs.head);
  dispose(await sessions.head.run({ hidden: zerosAct([1, 1, D]) }));
}

export async function releasePackage(pkg: LoadedPackage): Promise<void> {
  await pkg.decoder?.release().catch(() => {});
  pkg.biases?.release();
  const all: LayerSession[] = [
    pkg.sessions.vision,
    ...(pkg.sessions.videoVision ? [pkg.sessions.videoVision] : []),
    pkg.sessions.embed,
    ...pkg.sessions.layers,
    pkg.sessions.head,
  ];
  await Promise.all(all.map((s) => s.release().catch(() => {})));
  await pkg.gpuBuffers?.release();
}
