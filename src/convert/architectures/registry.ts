/**
 * The architecture registry: one entry per decoder and per vision tower, each in its own file.
 * A new architecture is that file, its name in llavaConfig.ts and a row here; config reading
 * (../checkpoint/config.ts), the tensor check (../checkpoint/keys.ts), the graphs (../arch/),
 * the transformers.js layout and synthetic models all read it from here.
 */
import type { TextArchitecture, VisionArchitecture } from './architecture';
import { CLIP } from './clip';
import type { FamilyArchitecture } from './family';
import { LLAVA } from './llavaFamily';
import { VIDEO_LLAVA } from './videollava';
import type { TextArch, VisionArch, VisionConfig } from './llavaConfig';
import { LLAMA } from './llama';
import { MISTRAL } from './mistral';
import { QWEN2 } from './qwen2';
import { SIGLIP } from './siglip';

export const TEXT_ARCHITECTURES: { readonly [Name in TextArch]: TextArchitecture<Name> } = {
  llama: LLAMA,
  qwen2: QWEN2,
  mistral: MISTRAL,
};

export const VISION_ARCHITECTURES: { readonly [Name in VisionArch]: VisionArchitecture<Name> } = {
  clip: CLIP,
  siglip: SIGLIP,
};

/** Top-level config.json model_type → family (the rest of a checkpoint is read through the entries above). */
export const FAMILIES: { readonly [Name in FamilyArchitecture['name']]: FamilyArchitecture } = {
  llava: LLAVA,
  video_llava: VIDEO_LLAVA,
};

export function familyArchitecture(name: FamilyArchitecture['name'] | undefined): FamilyArchitecture {
  return FAMILIES[name ?? 'llava'];
}

/** model_type → architecture, in registry order (the order error messages list them in). */
function byModelType<T extends { modelTypes: readonly string[] }>(entries: readonly T[]): Record<string, T> {
  return Object.fromEntries(entries.flatMap((entry) => entry.modelTypes.map((type) => [type, entry])));
}
export const TEXT_MODEL_TYPES: Readonly<Record<string, TextArchitecture>> = byModelType(
  Object.values(TEXT_ARCHITECTURES),
);
export const FAMILY_MODEL_TYPES: Readonly<Record<string, FamilyArchitecture>> = byModelType(Object.values(FAMILIES));
export const VISION_MODEL_TYPES: Readonly<Record<string, VisionArchitecture>> = byModelType(
  Object.values(VISION_ARCHITECTURES),
);

export function textArchitecture(arch: TextArch): TextArchitecture {
  return TEXT_ARCHITECTURES[arch];
}

export function visionArchitecture(arch: VisionArch): VisionArchitecture {
  return VISION_ARCHITECTURES[arch];
}

/**
 * Tokens the tower yields beyond its patch grid after selection: its CLS token (+1) less the
 * first token "default" drops (−1, CLS or — for a tower without one — the first patch).
 * LlavaProcessor's `num_additional_image_tokens` of the net count (transformersjs.ts).
 */
export function additionalImageTokens(vision: Pick<VisionConfig, 'arch' | 'selectStrategy'>): number {
  return (
    (visionArchitecture(vision.arch).embeddings.classToken ? 1 : 0) - (vision.selectStrategy === 'default' ? 1 : 0)
  );
}

/**
 * Visual tokens LLaVA splices per image, as the model yields them: a conv grid of
 * floor(image/patch)², plus the CLS token of a tower with one, minus one for "default".
 */
export function visualTokenCount(
  vision: Pick<VisionConfig, 'arch' | 'imageSize' | 'patchSize' | 'selectStrategy'>,
): number {
  const grid = Math.floor(vision.imageSize / vision.patchSize);
  return grid * grid + additionalImageTokens(vision);
}
