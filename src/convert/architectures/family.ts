/**
 * What a model family is, as one registry entry (registry.ts FAMILIES): the top-level
 * `model_type` of config.json (LlavaForConditionalGeneration's `llava`, Video-LLaVA's
 * `video_llava`), the config class's top-level defaults, the vision tower LlavaConfig-like
 * classes fill in when `vision_config` is absent, where each part's tensors sit in the
 * checkpoint (key layouts), and what it adds beyond one tower + projector + decoder.
 * The decoder and tower architectures inside are the same registry entries for every family.
 */
import type { ConfigFields, Json } from './configFields';
import type { TensorRow } from './architecture';
import type { VideoConfig, VisionConfig } from './llavaConfig';

/** Canonical prefix ← the checkpoint prefixes it comes under, most specific first. */
export interface PrefixRule {
  canonical: string;
  sources: string[];
}

export interface FamilyArchitecture {
  name: 'llava' | 'video_llava';
  /** Top-level `model_type` values that select it. */
  modelTypes: readonly string[];
  /** The config class's top-level defaults (image token id, projector, …) for absent keys. */
  defaults: Json;
  /** `vision_config` when config.json has none (the config class's own default tower). */
  defaultVision: Json;
  keyLayouts: readonly PrefixRule[];
  /** The video path (a second tower of the same vision_config, its own placeholder token), or null. */
  video(top: ConfigFields, vision: VisionConfig, textVocab: number): Omit<VideoConfig, 'token'> | null;
  /** Canonical tensors beyond the decoder, the tower and the projector (e.g. the video tower). */
  extraTensors: readonly TensorRow[];
  /** The processor class's `num_additional_image_tokens` when processor_config.json has none. */
  processorAdditionalTokens: number;
}

/** The text, lm_head and projector prefixes every LLaVA-style checkpoint shares (both file generations). */
export const SHARED_LAYOUTS: readonly PrefixRule[] = [
  { canonical: 'text.', sources: ['language_model.model.', 'model.language_model.'] },
  { canonical: 'lm_head.', sources: ['language_model.lm_head.', 'lm_head.'] },
  { canonical: 'projector.', sources: ['multi_modal_projector.', 'model.multi_modal_projector.'] },
];

/** A tower's prefixes under `module` (`vision_tower`, `image_tower`, …), with or without its own `vision_model.`. */
export function towerLayout(canonical: string, module: string): PrefixRule {
  return {
    canonical,
    sources: [`${module}.vision_model.`, `model.${module}.vision_model.`, `${module}.`, `model.${module}.`],
  };
}
