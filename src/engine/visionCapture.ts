/**
 * vision.onnx through onnxruntime's WebGPU graph capture (issue 13: vision is ~500 dispatches
 * at one static shape, [1,3,S,S] → [1,V,D], so its per-dispatch CPU work — shape logic,
 * uniforms, bind groups — can be recorded once and replayed).
 *
 * Capture binds the session's inputs and outputs once, so both are fixed GPU buffers that
 * onnxruntime allocated (GpuBuffers: a buffer of ours would be imported per run and gone by
 * the replay, liftedLayer.ts). Each run writes the pixels into the input buffer, replays, and
 * copies the output into a fresh tensor through a small plain session (`Mul(x, one)`: one ×
 * x is exact, and a Mul by a graph input is not removed by onnxruntime's no-op elimination as
 * a Mul by a constant 1 would be). That copy does two jobs: callers may keep the result (the
 * engine's vision cache, several images per request) while the next image overwrites the
 * fixed buffer, and its run flushes onnxruntime's pending encoder, where a replay's commands
 * otherwise wait (capturedDecode.ts saw the same on Dawn).
 *
 * Used only when the runtime's tuning asks for it (ortEnv.ts `visionCapture`) and the session
 * could be made: a graph with any node onnxruntime puts on its CPU EP cannot be captured, and
 * then the loader keeps the plain session (`unavailable` says why).
 */
import { GraphBuilder } from '../onnx/builder';
import { GpuBuffers } from './gpuBuffers';
import type { PackageDtype } from '../package/manifest';
import { sessionOptions, webgpuProvider, type OrtRuntime, type OrtSession, type OrtTensor } from './ortEnv';

export interface VisionShape {
  /** Input side S of pixel_values [1, 3, S, S]. */
  imageSize: number;
  /** Output rows V and width D of visual_embeds [1, V, D]. */
  visualTokens: number;
  hiddenSize: number;
  act: 'float32' | 'float16';
}

/** What prefill and the loader's warm-up call on vision.onnx: a plain session or a captured one. */
export type VisionRunner = Pick<OrtSession, 'release'> & {
  run(feeds: { pixel_values: OrtTensor }): Promise<Record<string, OrtTensor>>;
};

/**
 * Why a package's vision tower is not captured, or null when it may be. Measured (2026-12-02,
 * onnxruntime-web 1.31.0-dev, Dawn on SwiftShader and on an H200): for fp32 and fp16 packages,
 * whose tower projects through plain MatMuls with constant weights, the captured session gives
 * the first image's embeddings for every later image, already on its second (uncaptured) run;
 * q4 and q4f16 towers (MatMulNBits) give the plain session's bits. On the H200 this made fp16
 * pruning decisions differ from wasm and the CPU reference while tokens still matched
 * (bench/results/2026-12-02d-gpu-h200-f16-parity.md). visionCapture.test checks that the
 * fault is still there, so that this refusal is lifted when onnxruntime fixes it.
 */
export function visionCaptureRefusal(dtype: PackageDtype): string | null {
  return dtype === 'fp32' || dtype === 'fp16'
    ? `onnxruntime replays stale embeddings for a captured ${dtype} vision tower (plain MatMul weights): plain session`
    : null;
}

export class CapturedVision {
  /** Runs so far (the first few are plain: onnxruntime captures after its warm-up runs). */
  runs = 0;
  private constructor(
    private readonly device: GPUDevice,
    private readonly session: OrtSession,
    private readonly copy: OrtSession,
    private readonly gpu: GpuBuffers,
    private readonly input: { buffer: GPUBuffer; tensor: OrtTensor },
    private readonly output: { buffer: GPUBuffer; tensor: OrtTensor },
    private readonly one: OrtTensor,
    readonly shape: VisionShape,
  ) {}

  /** A captured vision session for `model`, or why none could be made. */
  static async create(
    rt: OrtRuntime,
    model: Uint8Array,
    external: { path: string; data: Uint8Array }[],
    shape: VisionShape,
  ): Promise<CapturedVision | { unavailable: string }> {
    if (rt.backend !== 'webgpu') return { unavailable: 'vision capture needs the WebGPU backend' };
    let session: OrtSession;
    try {
      session = await rt.ort.InferenceSession.create(model, {
        ...sessionOptions(rt, ['visual_embeds'], external),
        executionProviders: [webgpuProvider(rt)],
        enableGraphCapture: true,
      });
    } catch (e) {
      return { unavailable: `onnxruntime would not capture vision.onnx: ${(e as Error).message.split('\n')[0]}` };
    }
    const device = rt.device(); // exists once a WebGPU session does
    if (!device) {
      await session.release().catch(() => {});
      return { unavailable: "onnxruntime's GPU device is not reachable" };
    }
    const { imageSize: S, visualTokens: V, hiddenSize: D, act } = shape;
    const el = act === 'float16' ? 2 : 4;
    const gpu = await GpuBuffers.create(rt.ort, device, { exact: rt.tuning.exactBuffers });
    const input = await gpu.tensor('float32', [1, 3, S, S], null, 3 * S * S * 4, 'Vision.pixel_values');
    const output = await gpu.tensor(act, [1, V, D], null, V * D * el, 'Vision.visual_embeds');
    const g = new GraphBuilder('vision_copy');
    g.input('x', act, [1, V, D]);
    g.input('one', act, [1]);
    g.node('Mul', ['x', 'one'], { outputs: ['y'] });
    g.output('y', act, [1, V, D]);
    const copy = await rt.ort.InferenceSession.create(g.serialize().model, sessionOptions(rt, ['y']));
    const one =
      act === 'float16'
        ? new rt.ort.Tensor('float16', Uint16Array.of(0x3c00), [1])
        : new rt.ort.Tensor('float32', Float32Array.of(1), [1]);
    return new CapturedVision(device, session, copy, gpu, input, output, one, shape);
  }

  /**
   * pixel_values [1,3,S,S] (a CPU tensor) → { visual_embeds [1,V,D] }, a GPU tensor the caller
   * owns: the same call and result as the plain session's `run` (Sessions.vision).
   */
  async run(feeds: { pixel_values: OrtTensor }): Promise<Record<string, OrtTensor>> {
    const px = feeds.pixel_values;
    const S = this.shape.imageSize;
    const d = px.dims;
    if (px.type !== 'float32' || d.length !== 4 || d[0] !== 1 || d[1] !== 3 || d[2] !== S || d[3] !== S)
      throw new RangeError(
        `captured vision takes float32 pixel_values [1,3,${S},${S}], got ${px.type} [${d.join(',')}]`,
      );
    const data = px.data as Float32Array;
    this.device.queue.writeBuffer(this.input.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    await this.session.run({ pixel_values: this.input.tensor }, { visual_embeds: this.output.tensor });
    this.runs += 1;
    const { y } = await this.copy.run({ x: this.output.tensor, one: this.one });
    return { visual_embeds: y };
  }

  async release(): Promise<void> {
    await this.session.release().catch(() => {});
    await this.copy.release().catch(() => {});
    this.input.tensor.dispose();
    this.output.tensor.dispose();
    await this.gpu.release();
  }
}
