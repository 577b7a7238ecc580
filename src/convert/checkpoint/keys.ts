/**
 * Tensor names as declarative tables (after llama.cpp's conversion package):
 *  1. KEY_LAYOUTS: canonical prefix ← the Hugging Face prefixes it comes under, in both key
 *     layouts (legacy `language_model.model.*`, which transformers 5.17 save_pretrained still
 *     writes, and the in-memory `model.language_model.*`), with or without `vision_model.`.
 *  2. The tensor tables of the config's decoder and tower (their registry entries,
 *     ../architectures/) and of the projector: canonical pattern with `{layer}` → expected shape
 *     from the config. The checkpoint is checked against these before anything is converted,
 *     so a wrong default or a missing tensor fails with the file and the name.
 */
import type { LlavaConfig } from '../architectures/llavaConfig';
import type { PrefixRule } from '../architectures/family';
import { LLAVA } from '../architectures/llavaFamily';
import { familyArchitecture, textArchitecture, visionArchitecture } from '../architectures/registry';
import { PROJECTOR_TENSORS, expandTensors } from '../architectures/tensorTables';

/** LLaVA's layouts (the llava family's; Video-LLaVA's are in its registry entry). */
export const KEY_LAYOUTS: readonly PrefixRule[] = LLAVA.keyLayouts;

/** Hugging Face key → canonical name, or null when no layout rule matches. */
export function canonicalName(sourceKey: string, layouts: readonly PrefixRule[] = KEY_LAYOUTS): string | null {
  for (const rule of layouts) {
    for (const prefix of rule.sources) {
      if (sourceKey.startsWith(prefix)) return rule.canonical + sourceKey.slice(prefix.length);
    }
  }
  return null;
}

/**
 * Tensors a checkpoint may carry that no graph reads: rotary caches and position-id buffers of
 * older transformers, and SigLIP's pooling head (LLaVA takes hidden states, not the pooled output).
 */
const IGNORED: readonly RegExp[] = [
  /\.rotary_emb\.inv_freq$/,
  /^(video_)?vision\.embeddings\.position_ids$/,
  /^(video_)?vision\.head\./,
];

export function isIgnoredTensor(canonical: string): boolean {
  return IGNORED.some((re) => re.test(canonical));
}

/** Every canonical tensor the config implies, with its shape: the checkpoint must hold exactly these. */
export function expectedTensors(config: LlavaConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  expandTensors(textArchitecture(config.text.arch).tensors, config, config.text.numLayers, out);
  expandTensors(visionArchitecture(config.vision.arch).tensors, config, config.vision.numLayers, out);
  expandTensors(PROJECTOR_TENSORS, config, 0, out);
  expandTensors(familyArchitecture(config.family).extraTensors, config, config.vision.numLayers, out);
  return out;
}
