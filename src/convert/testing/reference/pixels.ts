/**
 * pixel_values for an image through transformers.js' own image processor (the browser app
 * uses the same), from a flat preprocessor_config.json. transformers.js reads configs from a
 * model folder, so the config is written to a temporary one.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoImageProcessor, RawImage, env } from '@huggingface/transformers';

export async function pixelValuesFor(
  preprocessorConfig: Uint8Array,
  imagePath: string,
): Promise<{ data: Float32Array; dims: number[] }> {
  const root = await mkdtemp(join(tmpdir(), 'pixels-'));
  try {
    await mkdir(join(root, 'model'));
    await writeFile(join(root, 'model', 'preprocessor_config.json'), preprocessorConfig);
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = root;
    const processor = await AutoImageProcessor.from_pretrained('model');
    const image = await RawImage.read(imagePath);
    const { pixel_values } = await processor(image);
    return { data: Float32Array.from(pixel_values.data as Float32Array), dims: pixel_values.dims };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
