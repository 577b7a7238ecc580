/**
 * Before a byte of weights is downloaded: can this browser hold and run the package?
 * Sizes come from the config alone (keys.ts expectedTensors), in the layout the graph builders
 * write (arch/common.ts `linear`: every Linear weight becomes MatMulNBits int4 under q4/q4f16 —
 * packed [N, blocks, 16] + scales [N·blocks] + zero points [N·⌈blocks/2⌉]; everything else is
 * stored in the activation dtype). Estimates, not promises: they are meant to refuse what
 * clearly cannot fit, with the numbers, instead of failing an hour into a download.
 */
import { ropeTablePositions } from '../arch/attention';
import type { LlavaConfig } from '../checkpoint/config';
import { ConvertError, fmtInt } from '../../common/errors';
import { expectedTensors } from '../checkpoint/keys';
import { INT4_BLOCK } from '../quantize';
import type { PackageDtype } from '../../package/manifest';

/** Tensors that go through `linear` (quantised under q4); embeddings, norms and biases do not. */
const LINEAR_WEIGHT = /(_proj|\.fc1|\.fc2|linear_\d|lm_head)\.weight$/;

export interface PackageEstimate {
  /** Bytes of every graph's weights as written. */
  weightBytes: number;
  /** The largest single initializer: it must fit one GPU buffer. */
  largestTensorBytes: number;
  largestTensor: string;
  /** KV cache for `contextTokens` positions, all layers, K and V. */
  kvBytes: number;
  /** weights + KV + a working margin: what the adapter must hold at once. */
  gpuBytes: number;
}

export function linearQ4Bytes(n: number, k: number, dtype: PackageDtype): number {
  const blocks = Math.ceil(k / INT4_BLOCK);
  const scaleBytes = dtype === 'q4f16' ? 2 : 4;
  return n * blocks * (INT4_BLOCK / 2) + n * blocks * scaleBytes + n * Math.ceil(blocks / 2);
}

export function estimatePackage(config: LlavaConfig, dtype: PackageDtype, contextTokens = 2048): PackageEstimate {
  const act = dtype === 'fp16' || dtype === 'q4f16' ? 2 : 4;
  const quantized = dtype === 'q4' || dtype === 'q4f16';
  let weightBytes = 0;
  let largestTensorBytes = 0;
  let largestTensor = '';
  const add = (name: string, bytes: number) => {
    weightBytes += bytes;
    if (bytes > largestTensorBytes) {
      largestTensorBytes = bytes;
      largestTensor = name;
    }
  };
  const tensors = expectedTensors(config);
  for (const [name, shape] of tensors) {
    const elements = shape.reduce((a, b) => a * b, 1);
    if (quantized && shape.length === 2 && LINEAR_WEIGHT.test(name))
      add(name, linearQ4Bytes(shape[0], shape[1], dtype));
    else add(name, elements * act);
  }
  const { text } = config;
  // Tied embeddings: head.onnx holds its own copy of the table as the output projection.
  if (!tensors.has('lm_head.weight')) {
    add(
      'lm_head (tied)',
      quantized ? linearQ4Bytes(text.vocabSize, text.hiddenSize, dtype) : text.vocabSize * text.hiddenSize * act,
    );
  }
  // Each layer graph holds its own rope cos/sin tables, [rows, hd/2] in the activation dtype (arch/attention.ts).
  weightBytes += text.numLayers * 2 * ropeTablePositions(text.maxPositions) * (text.headDim / 2) * act;
  const kvBytes = text.numLayers * 2 * text.numKvHeads * text.headDim * contextTokens * act;
  // Activations of one layer at the prompt length, logits, and ORT's own buffers: a flat margin
  // plus a few prompt-sized tensors (S·D and S·I).
  const workBytes = 64 * 2 ** 20 + 8 * contextTokens * (text.hiddenSize + text.intermediateSize) * act;
  return { weightBytes, largestTensorBytes, largestTensor, kvBytes, gpuBytes: weightBytes + kvBytes + workBytes };
}

/** What the adapter offers (GPUAdapter.limits) and, where known, how much memory it has. */
export interface AdapterBudget {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** WebGPU does not expose memory size; pass a figure the person or the app knows, or null to skip. */
  memoryBytes?: number | null;
}

export interface StorageFigures {
  quota: number;
  usage: number;
}

export type PreflightReason = 'storage-quota' | 'gpu-memory' | 'buffer-limit';

export interface PreflightFigures {
  downloadBytes: number;
  packageBytes: number;
  needBytes: number;
  freeBytes?: number;
  quotaBytes?: number;
  usageBytes?: number;
  gpuBytes?: number;
  gpuMemoryBytes?: number;
  largestTensor?: string;
  largestTensorBytes?: number;
  maxBufferBytes?: number;
}

/** A refusal before downloading; `figures` holds the numbers the UI shows. */
export class PreflightError extends ConvertError {
  constructor(
    readonly reason: PreflightReason,
    file: string,
    detail: string,
    readonly figures: PreflightFigures,
  ) {
    super('unsupported', file, detail);
  }
}

const mb = (bytes: number) => `${fmtInt(Math.ceil(bytes / 1e6))} MB`;

export interface PreflightInput {
  id: string;
  config: LlavaConfig;
  dtype: PackageDtype;
  /** Checkpoint bytes still to download (what is already on disk is not counted again). */
  downloadBytes: number;
  /** Side files copied into the package (tokenizer etc.). */
  sideFileBytes: number;
  storage: StorageFigures | null;
  adapter: AdapterBudget | null;
}

/** Throws PreflightError when the package cannot fit; returns the estimate otherwise. */
export function preflight(input: PreflightInput): PackageEstimate & { packageBytes: number; needBytes: number } {
  const est = estimatePackage(input.config, input.dtype);
  const packageBytes = est.weightBytes + input.sideFileBytes;
  const needBytes = input.downloadBytes + packageBytes;
  const base = { downloadBytes: input.downloadBytes, packageBytes, needBytes };
  if (input.storage) {
    const freeBytes = Math.max(0, input.storage.quota - input.storage.usage);
    if (needBytes > freeBytes) {
      throw new PreflightError(
        'storage-quota',
        input.id,
        `needs ${mb(needBytes)} of browser storage (download ${mb(input.downloadBytes)} + package ${mb(packageBytes)}) but only ${mb(freeBytes)} is free (quota ${mb(input.storage.quota)}, used ${mb(input.storage.usage)})`,
        { ...base, freeBytes, quotaBytes: input.storage.quota, usageBytes: input.storage.usage },
      );
    }
  }
  if (input.adapter) {
    const maxBuffer = Math.min(input.adapter.maxBufferSize, input.adapter.maxStorageBufferBindingSize);
    if (est.largestTensorBytes > maxBuffer) {
      throw new PreflightError(
        'buffer-limit',
        input.id,
        `its largest tensor (${est.largestTensor}, ${mb(est.largestTensorBytes)}) exceeds this GPU's largest buffer (${mb(maxBuffer)})`,
        {
          ...base,
          largestTensor: est.largestTensor,
          largestTensorBytes: est.largestTensorBytes,
          maxBufferBytes: maxBuffer,
        },
      );
    }
    const memory = input.adapter.memoryBytes;
    if (memory && est.gpuBytes > memory) {
      throw new PreflightError(
        'gpu-memory',
        input.id,
        `needs about ${mb(est.gpuBytes)} of GPU memory (weights ${mb(est.weightBytes)} + KV cache ${mb(est.kvBytes)}) but the GPU has ${mb(memory)}`,
        { ...base, gpuBytes: est.gpuBytes, gpuMemoryBytes: memory },
      );
    }
  }
  return { ...est, packageBytes, needBytes };
}
