/**
 * The transformers.js layout, run by @huggingface/transformers' own LlavaForConditionalGeneration
 * in Node (onnxruntime-node, CPU, no network): the LLaMA+CLIP GQA fixture converted to fp32
 * and q4 must give transformers' 16 golden greedy tokens (fixtures/llama-clip-gqa/golden.json;
 * q4 reproduces fp32 there because the fixture's weights lie on the int4 grid, see golden.test.ts).
 * Inputs are the golden input ids (image tokens already expanded) and our own pixel values,
 * so the check is on the graphs, not on either tokenizer.
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoProcessor, LlavaForConditionalGeneration, RawImage, Tensor, env } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpointDir } from './checkpoint/nodeCheckpoint';
import { DirSink } from '../package/nodeSink';
import { removeDir, tempDir } from './testing/variants';
import { convertToTransformersJs } from './transformersjs';
import { pixelValuesFor } from './testing/reference/pixels';
import type { PackageDtype } from '../package/manifest';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'llama-clip-gqa');
const golden = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as {
  input_ids: number[];
  greedy16: number[];
  prompt: string;
};
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

describe('transformers.js layout', () => {
  for (const dtype of ['fp32', 'q4'] as PackageDtype[]) {
    it(`${dtype}: LlavaForConditionalGeneration reproduces the golden greedy tokens`, async () => {
      const ckpt = await openCheckpointDir(DIR);
      const parent = await tempDir('tjs');
      dirs.push(parent);
      const out = join(parent, 'model');
      await convertToTransformersJs(ckpt, { dtype, sink: new DirSink(out) });
      const sfx = dtype === 'fp32' ? '' : `_${dtype}`;
      expect((await readdir(join(out, 'onnx'))).sort()).toEqual(
        [
          `decoder_model_merged${sfx}.onnx`,
          `decoder_model_merged${sfx}.onnx_data`,
          `embed_tokens${sfx}.onnx`,
          `vision_encoder${sfx}.onnx`,
        ].sort(),
      );
      const pixels = (await pixelValuesFor(ckpt.files['preprocessor_config.json'], join(DIR, 'image.png'))).data;
      await ckpt.close?.();

      env.allowRemoteModels = false;
      env.localModelPath = parent;
      // Its own processor (LlavaProcessor from our processor files) gives transformers' input ids.
      const processor = await AutoProcessor.from_pretrained('model', { local_files_only: true });
      const inputs = await processor(await RawImage.read(join(DIR, 'image.png')), golden.prompt);
      expect(Array.from(inputs.input_ids.data as BigInt64Array, Number)).toEqual(golden.input_ids);
      const model = await LlavaForConditionalGeneration.from_pretrained('model', {
        local_files_only: true,
        device: 'cpu',
        dtype,
      });
      const S = golden.input_ids.length;
      const result = (await model.generate({
        input_ids: new Tensor('int64', BigInt64Array.from(golden.input_ids.map(BigInt)), [1, S]),
        attention_mask: new Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
        pixel_values: new Tensor('float32', pixels, [1, 3, 336, 336]),
        max_new_tokens: 16,
        do_sample: false,
      })) as Tensor;
      await model.dispose();
      const tokens = Array.from(result.data as BigInt64Array, Number).slice(S);
      expect(tokens).toEqual(golden.greedy16);
    }, 120_000);
  }
});
