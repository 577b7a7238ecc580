/**
 * The input pipeline of a fixture checkpoint (LLaVA-1.5-shaped: 576 visual tokens at 336 px)
 * without converting it: its tokenizer files, and the manifest fields the pipeline reads as the
 * converter writes them for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../package/manifest';
import { InputPipeline } from './inputs';

export function fixtureInputs(dir: string): { manifest: Manifest; texts: Map<string, string> } {
  const texts = new Map(
    ['tokenizer.json', 'tokenizer_config.json', 'processor_config.json'].map((f) => [
      f,
      readFileSync(join(dir, f), 'utf8'),
    ]),
  );
  const manifest = {
    imageToken: '<image>',
    imageTokenId: 4,
    chatTemplate: readFileSync(join(dir, 'chat_template.jinja'), 'utf8'),
    vision: { visualTokens: 576, imageSize: 336 },
    text: { maxPositions: 2048 },
  } as unknown as Manifest;
  return { manifest, texts };
}

export function fixtureInputPipeline(dir: string): InputPipeline {
  const { manifest, texts } = fixtureInputs(dir);
  return new InputPipeline(manifest, texts);
}
