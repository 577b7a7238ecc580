/**
 * Every registry entry against the code that reads it: its synthetic config is read back as
 * itself by parseLlavaConfig, and the graphs built for it read exactly the tensors its table
 * lists (none missing, none unread but those LLaVA never uses), so a row and the graph code
 * cannot drift apart. Real checkpoints of each entry are the golden tests' fixtures.
 */
import { describe, expect, it } from 'vitest';
import { parseLlavaConfig } from '../checkpoint/config';
import { expectedTensors } from '../checkpoint/keys';
import { buildDecoderLayer, buildEmbed, buildHead } from '../arch/llama';
import { buildVision } from '../arch/vision';
import type { TensorSource } from '../arch/types';
import { buildPackageFiles } from '../graphs';
import { TEXT_ARCHITECTURES, VISION_ARCHITECTURES } from './registry';

function llavaConfig(textArch: string, visionArch: string): unknown {
  const text = TEXT_ARCHITECTURES[textArch as keyof typeof TEXT_ARCHITECTURES];
  const vision = VISION_ARCHITECTURES[visionArch as keyof typeof VISION_ARCHITECTURES];
  return {
    model_type: 'llava',
    image_token_index: 4,
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    text_config: text.syntheticConfig({ hidden: 32, layers: 2, heads: 4, kvHeads: 2, mlp: 48, vocab: 40 }),
    vision_config: vision.syntheticConfig({ hidden: 16, layers: 3, heads: 2, mlp: 32, imageSize: 28, patchSize: 14 }),
  };
}

/** Zeros of each expected shape, recording what the graph builders read. */
function recordingSource(shapes: Map<string, number[]>, readNames: Set<string>): TensorSource {
  return {
    info: (name) => (shapes.has(name) ? { dtype: 'F32', shape: shapes.get(name)! } : undefined),
    read: async (name) => {
      readNames.add(name);
      return new Float32Array(shapes.get(name)!.reduce((a, b) => a * b, 1));
    },
  };
}

const pairs = Object.keys(TEXT_ARCHITECTURES).flatMap((text) =>
  Object.keys(VISION_ARCHITECTURES).map((vision) => [text, vision] as const),
);

describe('architecture registry', () => {
  it.each(pairs)('%s + %s: the synthetic config reads back as that pair', (text, vision) => {
    const config = parseLlavaConfig(llavaConfig(text, vision));
    expect([config.text.arch, config.vision.arch]).toEqual([text, vision]);
    // Qwen2 alone has q/k/v biases; only CLIP has a CLS token (2×2 grid + CLS − the dropped first token).
    expect(config.text.attentionBias).toBe(text === 'qwen2');
    expect(config.imageSeqLength).toBe(vision === 'clip' ? 4 : 3);
  });

  it.each(pairs)('%s + %s: the graphs read exactly the tensor table', async (text, vision) => {
    const config = parseLlavaConfig(llavaConfig(text, vision));
    const shapes = expectedTensors(config);
    const readNames = new Set<string>();
    const src = recordingSource(shapes, readNames);
    await buildVision(src, config, 'fp32');
    await buildEmbed(src, config.text, 'fp32');
    for (let layer = 0; layer < config.text.numLayers; layer++)
      await buildDecoderLayer(src, config.text, layer, 'fp32');
    await buildHead(src, config.text, 'fp32');
    // LLaVA takes hidden_states[-2]: the last tower layer and the post-norm are never run.
    const unread = [...shapes.keys()].filter((name) => !readNames.has(name)).sort();
    expect(unread).toEqual(
      [...shapes.keys()].filter((name) => /^vision\.(encoder\.layers\.2\.|post_layernorm\.)/.test(name)).sort(),
    );
    expect(unread.length).toBeGreaterThan(0);
  });

  it.each(Object.keys(VISION_ARCHITECTURES))(
    'video_llava with %s towers: the package graphs (video_vision.onnx included) read exactly the tensor table, both towers',
    async (vision) => {
      const json = { ...(llavaConfig('llama', vision) as object), model_type: 'video_llava', video_token_index: 5 };
      const config = parseLlavaConfig(json);
      expect(config.video).toEqual({ tokenId: 5, token: '<video>', tokensPerFrame: vision === 'clip' ? 5 : 4 });
      const shapes = expectedTensors(config);
      const readNames = new Set<string>();
      const paths: string[] = [];
      for await (const file of buildPackageFiles({ ...recordingSource(shapes, readNames), config }, 'fp32'))
        paths.push(file.path);
      expect(paths).toContain('video_vision.onnx');
      const unread = [...shapes.keys()].filter((name) => !readNames.has(name)).sort();
      expect(unread).toEqual(
        [...shapes.keys()]
          .filter((name) => /^(video_)?vision\.(encoder\.layers\.2\.|post_layernorm\.)/.test(name))
          .sort(),
      );
      expect(unread.some((n) => n.startsWith('video_vision.'))).toBe(true);
    },
  );
});
