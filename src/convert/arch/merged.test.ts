/**
 * The merged decoder (all layers in one graph) against the per-layer graphs, on the LLaMA+CLIP
 * GQA fixture: same first-step logits and the same 16 greedy tokens (= the transformers golden),
 * fp32 and q4. The per-layer side is the reference runner; the merged side runs vision → splice →
 * decoder_merged → head here, with its data split into several small chunks so chunking is
 * exercised too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertCheckpoint } from '../convert';
import { MERGED_DECODER_PATH, buildMergedDecoderFiles } from '../graphs';
import { openCheckpointDir } from '../checkpoint/nodeCheckpoint';
import { loadReferenceModel, readFromMap } from '../testing/reference/package';
import { pixelValuesFor } from '../testing/reference/pixels';
import { ReferenceRunner } from '../testing/reference/runner';
import type { PackageDtype } from '../../package/manifest';
import { MemorySink } from '../../package/sink';

const DIR = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'llama-clip-gqa');
const golden = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as {
  input_ids: number[];
  greedy16: number[];
};

const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);

async function session(files: Map<string, Uint8Array>, path: string, data: string[]): Promise<ort.InferenceSession> {
  const externalData = data.map((d) => ({ path: d, data: files.get(d)! }));
  return ort.InferenceSession.create(files.get(path)!, {
    executionProviders: ['cpu'],
    ...(externalData.length ? { externalData } : {}),
  });
}

async function mergedGenerate(files: Map<string, Uint8Array>, pixels: Float32Array, steps: number) {
  const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
  const { numLayers, numKvHeads, headDim } = manifest.text;
  const vision = await session(files, 'vision.onnx', []);
  const embed = await session(files, 'embed.onnx', []);
  const head = await session(files, 'head.onnx', []);
  const merged = await session(files, manifest.graphs.mergedDecoder.graph, manifest.graphs.mergedDecoder.data);
  const ids = (t: number[]) => new ort.Tensor('int64', BigInt64Array.from(t.map(BigInt)), [1, t.length]);
  const visual = (await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, 336, 336]) }))
    .visual_embeds;
  const embeds = (await embed.run({ input_ids: ids(golden.input_ids) })).embeds;
  const D = visual.dims[2];
  const seq = (embeds.data as Float32Array).slice();
  golden.input_ids
    .flatMap((id, i) => (id === manifest.imageTokenId ? [i] : []))
    .forEach((pos, k) => seq.set((visual.data as Float32Array).subarray(k * D, (k + 1) * D), pos * D));
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < numLayers; i++) {
    past[`past_key.${i}`] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
    past[`past_value.${i}`] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
  }
  let hidden: ort.Tensor = new ort.Tensor('float32', seq, [1, golden.input_ids.length, D]);
  let positions = golden.input_ids.map((_, i) => i);
  let firstLogits: Float32Array | undefined;
  const tokens: number[] = [];
  for (let step = 0; step < steps; step++) {
    const out = await merged.run({ hidden, position_ids: ids(positions), ...past });
    past = {};
    for (let i = 0; i < numLayers; i++) {
      past[`past_key.${i}`] = out[`present_key.${i}`];
      past[`past_value.${i}`] = out[`present_value.${i}`];
    }
    const logits = (await head.run({ hidden: out.hidden_out })).logits.data as Float32Array;
    firstLogits ??= logits.slice();
    tokens.push(argmax(logits));
    const next = positions[positions.length - 1] + 1;
    hidden = (await embed.run({ input_ids: ids([tokens[tokens.length - 1]]) })).embeds;
    positions = [next];
  }
  for (const s of [vision, embed, head, merged]) await s.release();
  return { firstLogits: firstLogits!, tokens };
}

describe('merged decoder', () => {
  for (const dtype of ['fp32', 'q4'] as PackageDtype[]) {
    it(`${dtype}: same logits and greedy tokens as the per-layer graphs`, async () => {
      const ckpt = await openCheckpointDir(DIR);
      const pixels = (await pixelValuesFor(ckpt.files['preprocessor_config.json'], join(DIR, 'image.png'))).data;
      const sink = new MemorySink();
      await convertCheckpoint(ckpt, { dtype, sink, mergedDecoder: true });
      const manifest = JSON.parse(new TextDecoder().decode(sink.files.get('manifest.json')));
      expect(manifest.graphs.mergedDecoder).toEqual({ graph: MERGED_DECODER_PATH, data: ['decoder_merged.onnx.data'] });

      // Rebuild with 16 KiB chunks: several data files, same graph otherwise.
      const chunked = new Map(sink.files);
      const data: string[] = [];
      for await (const f of buildMergedDecoderFiles(ckpt, dtype, 16 * 1024)) {
        chunked.set(f.path, f.bytes);
        if (f.path !== MERGED_DECODER_PATH) data.push(f.path);
      }
      expect(data.length).toBeGreaterThan(2);
      expect(data[1]).toBe('decoder_merged.onnx.data.1');
      chunked.set(
        'manifest.json',
        new TextEncoder().encode(
          JSON.stringify({
            ...manifest,
            graphs: { ...manifest.graphs, mergedDecoder: { graph: MERGED_DECODER_PATH, data } },
          }),
        ),
      );

      const runner = await ReferenceRunner.create(await loadReferenceModel(readFromMap(sink.files)));
      const perLayer = await runner.generate(golden.input_ids, pixels, 16);
      await runner.release();
      for (const files of [sink.files, chunked]) {
        const merged = await mergedGenerate(files, pixels, 16);
        let maxDiff = 0;
        for (let i = 0; i < merged.firstLogits.length; i++)
          maxDiff = Math.max(maxDiff, Math.abs(merged.firstLogits[i] - perLayer.firstLogits[i]));
        expect(maxDiff).toBeLessThan(1e-5); // same ops, same weights: only graph-level fusion order may differ
        expect(merged.tokens).toEqual(perLayer.tokens);
        expect(merged.tokens).toEqual(golden.greedy16);
      }
      await ckpt.close?.();
    }, 120_000);
  }
});
