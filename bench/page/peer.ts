/**
 * The bench's peer: @huggingface/transformers' own LLaVA pipeline (AutoProcessor →
 * LlavaProcessor, LlavaForConditionalGeneration) on the converter's transformers.js layout of
 * the same unpruned weights (bench/peer.ts writes it), served from the bench's own server
 * (no hub: allowRemoteModels off, localModelPath = /peer-models/). Same image, same question
 * through the same chat template, greedy, the same number of tokens forced (min = max new
 * tokens). Runs on this page's main thread: transformers.js has no worker of its own.
 *
 * Timing, as close to our trace's as its API allows: TTFT is wall time from the start of the
 * request (image decode, processor, tokenizer included, as in our firstTokenMs) to the first
 * generated token handed to the streamer; decode steps are the gaps between later tokens.
 */
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import {
  AutoProcessor,
  BaseStreamer,
  LlavaForConditionalGeneration,
  RawImage,
  env,
  type Tensor,
} from '@huggingface/transformers';

export interface PeerRun {
  ttftMs: number;
  decodeStepMs: number[];
  promptTokens: number;
  generatedIds: number[];
}

export interface PeerPageApi {
  load(
    device: 'webgpu' | 'wasm',
    dtype: string,
  ): Promise<{ loadMs: number; numThreads: number | null; crossOriginIsolated: boolean }>;
  generate(question: string, newTokens: number): Promise<PeerRun>;
}

class TimingStreamer extends BaseStreamer {
  times: number[] = [];
  ids: number[] = [];
  private prompt = true;
  override put(value: bigint[][]): void {
    if (this.prompt) {
      this.prompt = false;
      return;
    } // the first put is the prompt's ids
    this.times.push(performance.now());
    this.ids.push(Number(value[0][0]));
  }
  override end(): void {}
}

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/peer-models/';
env.useBrowserCache = false;
env.useWasmCache = false;
const onnxEnv = env.backends.onnx as { wasm?: { wasmPaths?: unknown; numThreads?: number } };
if (onnxEnv.wasm) onnxEnv.wasm.wasmPaths = { wasm: new URL(ortWasmUrl, location.href).href };

let processor: Awaited<ReturnType<typeof AutoProcessor.from_pretrained>> | null = null;
let model: Awaited<ReturnType<typeof LlavaForConditionalGeneration.from_pretrained>> | null = null;
let image: Blob | null = null;

const api: PeerPageApi = {
  async load(device, dtype) {
    image = await (await fetch('/bench-image/shapes.png')).blob();
    const t0 = performance.now();
    processor = await AutoProcessor.from_pretrained('model', { local_files_only: true });
    model = await LlavaForConditionalGeneration.from_pretrained('model', {
      local_files_only: true,
      device,
      dtype: dtype as 'q4',
    });
    return { loadMs: performance.now() - t0, numThreads: onnxEnv.wasm?.numThreads ?? null, crossOriginIsolated };
  },
  async generate(question, newTokens) {
    const streamer = new TimingStreamer();
    const t0 = performance.now();
    const raw = await RawImage.fromBlob(image!);
    const tok = processor!.tokenizer as unknown as { apply_chat_template(m: unknown, o: unknown): string };
    const prompt = tok.apply_chat_template(
      [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
      { tokenize: false, add_generation_prompt: true },
    );
    const inputs = await (processor as unknown as (img: RawImage, text: string) => Promise<Record<string, Tensor>>)(
      raw,
      prompt,
    );
    await model!.generate({
      ...inputs,
      max_new_tokens: newTokens,
      min_new_tokens: newTokens,
      do_sample: false,
      streamer: streamer as unknown as import('@huggingface/transformers').TextStreamer,
    });
    const decodeStepMs = streamer.times.slice(1).map((t, i) => t - streamer.times[i]);
    return {
      ttftMs: streamer.times[0] - t0,
      decodeStepMs,
      promptTokens: inputs.input_ids.dims.at(-1) ?? 0,
      generatedIds: streamer.ids,
    };
  },
};

(window as unknown as { peer: PeerPageApi }).peer = api;
document.querySelector('[data-testid="bench.status"]')!.textContent = 'bench peer page ready';
