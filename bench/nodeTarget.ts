/**
 * The bench in Node: Dawn (`webgpu` npm) through setupNodeGpu(), the app's Engine in-process,
 * the GPU byte counter hooked in before ORT makes its device.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setupNodeGpu } from '../src/cli/shared/nodeGpu';
import type { Engine, RequestImage } from '../src/engine/engine';
import type { AdapterInfo, ModelInfo } from '../src/engine/protocol';
import type { MethodSpec } from './args';
import { installGpuMemoryCounter, type GpuMemoryCounter } from './gpuMemory';
import type { BenchTarget, RunOutcome } from './measure';

export const BENCH_QUESTION = 'Describe this image in detail.';
/** The video row's question (the frames come first in the user turn: as images, or one `<video>` for Video-LLaVA). */
export const BENCH_VIDEO_QUESTION = 'Describe this video in detail.';

export interface TargetEnvironment {
  adapter: AdapterInfo;
  runtime: Record<string, string>;
  gpuMemoryCounter: boolean;
}

export interface NodeTarget extends BenchTarget {
  engine: Engine;
  model: ModelInfo;
  environment: TargetEnvironment;
  loadMs: number;
  close(): Promise<void>;
}

function packageVersion(name: string): string {
  try {
    const req = createRequire(import.meta.url);
    return (req(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function openNodeTarget(
  modelDir: string,
  /** One image, or several (video frames) fed in this order. */
  images: RequestImage[],
  backend: 'webgpu' | 'wasm' = 'webgpu',
): Promise<NodeTarget> {
  const gpu =
    backend === 'webgpu'
      ? await setupNodeGpu()
      : { adapter: null, reason: 'the wasm backend was asked for (--backend wasm)' };
  // Before the first ORT session: ORT's device and all its buffers go through the hook.
  const memory: GpuMemoryCounter | null = gpu.adapter ? installGpuMemoryCounter() : null;
  const { Engine } = await import('../src/engine/engine');
  const { dirReader } = await import('../src/package/nodeSource');
  const engine = await Engine.create({
    preferBackend: gpu.adapter ? 'webgpu' : 'wasm',
    noGpuReason: gpu.adapter ? undefined : gpu.reason,
  });
  const t0 = performance.now();
  const model = await engine.load(dirReader(modelDir));
  const loadMs = performance.now() - t0;
  const environment: TargetEnvironment = {
    adapter: engine.adapter,
    runtime: {
      node: process.versions.node,
      'onnxruntime-web':
        (engine.rt.ort.env.versions as { web?: string } | undefined)?.web ?? packageVersion('onnxruntime-web'),
      webgpu: packageVersion('webgpu'),
      // setupNodeGpu's reason calls any VK_ICD_FILENAMES "software"; say which ICD file it was.
      vulkan: gpu.adapter && process.env.VK_ICD_FILENAMES ? `ICD file ${process.env.VK_ICD_FILENAMES}` : gpu.reason,
    },
    gpuMemoryCounter: memory !== null,
  };
  const pkg = engine.model;
  environment.runtime.decode = pkg?.decoder?.ready
    ? 'captured graphs (onnxruntime WebGPU graph capture, engine/capturedDecode.ts)'
    : `plain session runs${pkg?.captureUnavailable ? ` (capture unavailable: ${pkg.captureUnavailable})` : engine.rt.graphCapture ? '' : ' (graph capture off)'}`;
  return {
    engine,
    model,
    environment,
    loadMs,
    async generate(spec: MethodSpec, newTokens: number): Promise<RunOutcome> {
      memory?.resetPeak();
      const r = await engine.generate({
        ...(images.length === 1 ? { image: images[0] } : { images }),
        question: images.some((im) => im.frame) ? BENCH_VIDEO_QUESTION : BENCH_QUESTION,
        settings: spec.settings,
        options: { maxNewTokens: newTokens, temperature: 0, topP: 1, seed: 0, reuseVision: false },
      });
      return { trace: r.trace, peakGpuBytes: memory ? memory.peak() : null };
    },
    async close() {
      // Per-token CPU of the decode path, by part (capturedDecode.ts counts; decode.ts's for the plain path).
      const p = (await import('../src/engine/decode')).plainDecodeCounts;
      if (p.steps > 0) {
        const parts = Object.entries(p.cpuMs)
          .map(([k, v]) => `${k} ${(v / p.steps).toFixed(3)}`)
          .join(', ');
        const total = Object.values(p.cpuMs).reduce((a, b) => a + b, 0) / p.steps;
        console.log(`plain decode: ${p.steps} steps, CPU per token ${total.toFixed(2)} ms (${parts} ms)`);
      }
      const c = engine.model?.decoder?.counts;
      if (c && c.steps > 0) {
        const parts = Object.entries(c.cpuMs)
          .map(([k, v]) => `${k} ${(v / c.steps).toFixed(3)}`)
          .join(', ');
        const total = Object.values(c.cpuMs).reduce((a, b) => a + b, 0) / c.steps;
        console.log(
          `captured decode: ${c.steps} steps, CPU per token ${total.toFixed(2)} ms (${parts} ms); decode sessions made ${c.sessions}`,
        );
      }
      await engine.dispose();
    },
  };
}

export async function readBenchImage(path: string): Promise<{ bytes: Uint8Array; name: string }> {
  const buf = await readFile(path);
  return {
    bytes: new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)),
    name: path.split('/').pop()!,
  };
}
