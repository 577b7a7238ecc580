import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputPipeline } from './inputs';
import type { Manifest } from '../package/manifest';
import { MAX_IMAGE_PIXELS, readImageHeader } from './imageHeader';
import { EngineError } from '../common/errors';
import { fixtureInputs } from './fixtureInputs.testutil';

const dir = 'fixtures/open-llava15-deep/';
const golden = JSON.parse(readFileSync(dir + 'golden.json', 'utf8')) as { question: string; input_ids: number[] };
const { manifest, texts } = fixtureInputs(dir);
const pipeline = new InputPipeline(manifest, texts);

/** A minimal valid PNG header + IEND: enough for the header reader, never decoded. */
function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4);
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = 2;
  const idat = deflateSync(Buffer.alloc(0));
  const idatChunk = Buffer.concat([Buffer.from([0, 0, 0, idat.length]), Buffer.from('IDAT'), idat, Buffer.alloc(4)]);
  const iend = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, idatChunk, iend]),
  );
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as EngineError).code;
  }
  return 'ok';
};
const codeAsync = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return (e as EngineError).code;
  }
  return 'ok';
};

describe('InputPipeline on the open-llava15-deep fixture', () => {
  it('reproduces the golden input_ids with <image> expanded to 576 tokens', () => {
    const { inputIds, layout, prompt } = pipeline.prepareText(golden.question, 16);
    expect(prompt).toBe('USER: <image>\ndescribe the scene in detail ASSISTANT:');
    expect(inputIds).toEqual(golden.input_ids);
    expect(layout).toEqual({ preLength: 2, visualCount: 576, textLength: golden.input_ids.length - 578 });
  });

  it('gives CLIP pixel values [1,3,336,336] for the fixture image', async () => {
    const px = await pipeline.preparePixels(new Uint8Array(readFileSync(dir + 'image.png')), 'image.png');
    expect(px.dims).toEqual([1, 3, 336, 336]);
    // Pixel (0,0) straight from the PNG: after any row filter, the first pixel of row 0 is its raw bytes.
    const png = readFileSync(dir + 'image.png');
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length;) {
      const len = png.readUInt32BE(at);
      if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
      at += 12 + len;
    }
    const [r, g, b] = inflateSync(Buffer.concat(idat)).subarray(1, 4);
    const plane = 336 * 336;
    expect(px.data[0]).toBeCloseTo((r / 255 - 0.48145466) / 0.26862954, 4);
    expect(px.data[plane]).toBeCloseTo((g / 255 - 0.4578275) / 0.26130258, 4);
    expect(px.data[2 * plane]).toBeCloseTo((b / 255 - 0.40821073) / 0.27577711, 4);
  });

  it('decodes an image once: the same bytes give the cached pixel values, other bytes their own', async () => {
    const png = new Uint8Array(readFileSync(dir + 'image.png'));
    const fresh = new InputPipeline(manifest, texts);
    const first = await fresh.preparePixels(png, 'image.png');
    const again = await fresh.preparePixels(png.slice(), 'copy.png'); // same content, another buffer
    expect(again).toBe(first);
    const mirrored = new Uint8Array(readFileSync('fixtures/multi/second.png'));
    const other = await fresh.preparePixels(mirrored, 'second.png');
    expect(other).not.toBe(first);
    expect(other.data).not.toEqual(first.data);
    // A refused image is refused again (refusals are not cached).
    expect(await codeAsync(fresh.preparePixels(new Uint8Array(png.subarray(0, png.length >> 1)), 'half.png'))).toBe(
      'truncated-image',
    );
    expect(await codeAsync(fresh.preparePixels(new Uint8Array(png.subarray(0, png.length >> 1)), 'half.png'))).toBe(
      'truncated-image',
    );
  });

  it('refuses bad inputs with one typed error each', async () => {
    expect(code(() => pipeline.prepareText('   ', 16))).toBe('empty-question');
    expect(code(() => pipeline.prepareText('word '.repeat(3000), 16))).toBe('question-too-long');
    expect(code(() => pipeline.prepareText(golden.question, 2000))).toBe('question-too-long');
    expect(await codeAsync(pipeline.preparePixels(new Uint8Array(0), 'empty.png'))).toBe('empty-image');
    expect(await codeAsync(pipeline.preparePixels(new TextEncoder().encode('hello, not an image'), 'a.txt'))).toBe(
      'not-an-image',
    );
    const png = readFileSync(dir + 'image.png');
    expect(await codeAsync(pipeline.preparePixels(new Uint8Array(png.subarray(0, png.length >> 1)), 'half.png'))).toBe(
      'truncated-image',
    );
    expect(await codeAsync(pipeline.preparePixels(pngHeader(12000, 12000), 'huge.png'))).toBe('image-too-large');
    // The pipeline is still usable after each refusal.
    expect(pipeline.prepareText(golden.question, 16).inputIds).toEqual(golden.input_ids);
  });
});

describe('readImageHeader', () => {
  it('reads dimensions from the header and states the pixel limit', () => {
    expect(readImageHeader(pngHeader(640, 480))).toEqual({ format: 'png', width: 640, height: 480 });
    try {
      readImageHeader(pngHeader(12000, 12000), 'huge.png');
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).message).toBe(
        `The image huge.png is 12000×12000 pixels; the limit is ${MAX_IMAGE_PIXELS / 1e6} megapixels. Please scale it down.`,
      );
      expect((e as EngineError).data).toMatchObject({ width: 12000, height: 12000 });
    }
    const jpeg = new Uint8Array([
      0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0, 200, 1, 44, 3, 0, 0, 0, 0xff, 0xd9,
    ]);
    expect(readImageHeader(jpeg)).toEqual({ format: 'jpeg', width: 300, height: 200 });
    expect(code(() => readImageHeader(jpeg.subarray(0, 12)))).toBe('truncated-image');
  });
});

describe('several images in one question (golden-multi.json of make_multi_goldens.py)', () => {
  const fixture = (name: string, imageTokenId: number, maxPositions: number) => {
    const d = `fixtures/${name}/`;
    const files = new Map(
      ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'].map((f) => [
        f,
        readFileSync(d + f, 'utf8'),
      ]),
    );
    const m = {
      imageToken: '<image>',
      imageTokenId,
      chatTemplate: readFileSync(d + 'chat_template.jinja', 'utf8'),
      vision: { visualTokens: 576, imageSize: 336 },
      text: { maxPositions },
    } as unknown as Manifest;
    const g = JSON.parse(readFileSync(d + 'golden-multi.json', 'utf8')) as {
      question: string;
      prompt: string;
      input_ids: number[];
      image_starts: number[];
    };
    return { p: new InputPipeline(m, files), g };
  };

  it.each([
    ['llama-clip-gqa', 4, 2048],
    ['qwen2-siglip', 383, 4096],
  ] as const)("%s: two images first in the user turn give transformers' ids and blocks", (name, id, ctx) => {
    const { p, g } = fixture(name, id, ctx);
    const r = p.prepareText(g.question, 16, 2);
    expect(r.prompt).toBe(g.prompt);
    expect(r.inputIds).toEqual(g.input_ids);
    expect(r.images).toEqual(g.image_starts.map((start) => ({ start, count: 576 })));
    const end = g.image_starts[1] + 576;
    expect(r.layout).toEqual({
      preLength: g.image_starts[0],
      visualCount: end - g.image_starts[0],
      textLength: g.input_ids.length - end,
    });
    // One image is still the single-image prompt and layout.
    expect(p.prepareText(g.question, 16).layout.visualCount).toBe(576);
  });

  it('refuses more images or frames than the context holds, with the figures, before decoding any', () => {
    const { p, g } = fixture('llama-clip-gqa', 4, 2048);
    try {
      p.prepareText(g.question, 16, 4);
      expect.unreachable();
    } catch (e) {
      expect((e as EngineError).code).toBe('too-many-images');
      expect((e as EngineError).message).toBe(
        "4 images take 4 × 576 = 2304 visual tokens; with 19 text tokens (the template's, separators included) and 16 for the answer that is 2339, but the model's context holds 2048: at most 3 fit.",
      );
    }
    expect(code(() => p.prepareText(g.question, 16, 8, 'frame'))).toBe('too-many-frames');
    expect(code(() => p.prepareText(g.question, 16, 0))).toBe('no-image');
    expect(p.prepareText(g.question, 16, 3).images.length).toBe(3);
  });
});
