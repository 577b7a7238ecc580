/**
 * What an architecture is, as one registry entry (registry.ts; one file per architecture): how
 * its config.json section is read, which tensors its checkpoint holds (tensorTables.ts), what
 * the graph builders need to know that the config does not say, and how a synthetic model of it
 * is written. The graph code itself (../arch/) is shared: the three decoders are LLaMA's layer,
 * the two towers one pre-norm ViT.
 */
import type { ConfigFields, Json } from './configFields';
import type { LlavaConfig, TextArch, VisionArch } from './llavaConfig';

/** One row of a tensor table: a canonical name (`{layer}` repeats it per layer), its shape, when present. */
export interface TensorRow {
  pattern: string;
  /** Linear weights are [out, in] as torch stores them. */
  shape: (config: LlavaConfig) => number[];
  /** Present only when this holds (biases, CLS-only tensors, an untied head). */
  when?: (config: LlavaConfig) => boolean;
}

/** Dims of a synthetic decoder (synthetic/synthetic.ts SYNTHETIC_SHAPES). */
export interface SyntheticTextDims {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  mlp: number;
  vocab: number;
}

/** Dims of a synthetic vision tower. */
export interface SyntheticVisionDims {
  hidden: number;
  layers: number;
  heads: number;
  mlp: number;
  imageSize: number;
  patchSize: number;
}

export interface TextArchitecture<Name extends TextArch = TextArch> {
  name: Name;
  /** `text_config.model_type` values that select it. */
  modelTypes: readonly string[];
  /** The transformers config class's defaults (its __init__ signature), for absent keys. */
  defaults: Json;
  /** q/k/v biases as transformers decides them; refuses what the layer graph does not add. */
  attentionBias(text: ConfigFields): boolean;
  /** The attention window transformers applies, or null. */
  slidingWindow(text: ConfigFields, numLayers: number): number | null;
  /** Refuses rows transformers accepts but the decoder layer graph cannot run. */
  refuseUnsupported(text: ConfigFields): void;
  /** Canonical tensors under `text.` and `lm_head.`. */
  tensors: readonly TensorRow[];
  /** `text_config` of a synthetic model of this decoder. */
  syntheticConfig(dims: SyntheticTextDims): Json;
}

/**
 * What the ViT embeddings hold besides the patch Conv and learned positions (../arch/vision.ts
 * builds them from these flags, tensorTables.ts lists their tensors from the same flags).
 */
export interface VisionEmbeddings {
  /** A learned CLS token before the patches (and a position for it). */
  classToken: boolean;
  /** The patch Conv has a bias. */
  patchBias: boolean;
  /** A LayerNorm after the positions (CLIP's `pre_layrnorm`). */
  preNorm: boolean;
}

export interface VisionArchitecture<Name extends VisionArch = VisionArch> {
  name: Name;
  /** `vision_config.model_type` values that select it. */
  modelTypes: readonly string[];
  defaults: Json;
  embeddings: VisionEmbeddings;
  /** Canonical tensors under `vision.`. */
  tensors: readonly TensorRow[];
  /** `vision_config` of a synthetic model of this tower. */
  syntheticConfig(dims: SyntheticVisionDims): Json;
  /** preprocessor_config.json of a synthetic model (the hub processor for this tower and size). */
  imageProcessor(imageSize: number): Json;
}
