/**
 * Test helpers (Node): derive checkpoint variants from a fixture folder in a temp dir, so the
 * tests can show that every generation / key layout / sharding converts to the same thing.
 */
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileByteSource } from '../checkpoint/nodeBytesource';
import { SafetensorsFile } from '../checkpoint/safetensors';
import { encodeSafetensors, type WriterTensor } from '../synthetic/safetensorsWriter';

export const FIXTURE = new URL('../../../fixtures/open-llava15-deep/', import.meta.url).pathname;

export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `convert-${tag}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Copies a folder (flat) into a new temp dir. */
export async function copyFixture(src = FIXTURE, tag = 'copy'): Promise<string> {
  const dir = await tempDir(tag);
  for (const name of await readdir(src)) await copyFile(join(src, name), join(dir, name));
  return dir;
}

/** Key renames of the two key layouts, from the fixture's legacy `language_model.model.*` names. */
export const KEY_STYLES = {
  /** What transformers 5.17 save_pretrained writes (the fixture as it is). */
  saved: (key: string) => key,
  /** The hub's llava-hf repos: CLIP under vision_tower.vision_model. */
  hub: (key: string) => key.replace(/^vision_tower\./, 'vision_tower.vision_model.'),
  /** transformers-5 in-memory names. */
  v5: (key: string) =>
    key
      .replace(/^language_model\.model\./, 'model.language_model.')
      .replace(/^language_model\.lm_head\./, 'lm_head.')
      .replace(/^vision_tower\./, 'model.vision_tower.')
      .replace(/^multi_modal_projector\./, 'model.multi_modal_projector.'),
} as const;

/**
 * Rewrites `dir/model.safetensors` with renamed keys, optionally as `shards` shards + index
 * (HF naming model-0000k-of-0000n.safetensors). Tensors are copied byte for byte.
 */
export async function rewriteWeights(dir: string, rename: (key: string) => string, shards = 1): Promise<void> {
  const src = await FileByteSource.open(join(dir, 'model.safetensors'));
  const file = await SafetensorsFile.open(src, 'model.safetensors');
  const names = file.names().sort();
  const tensors: (WriterTensor & { from: string })[] = names.map((from) => {
    const e = file.entry(from)!;
    return { name: rename(from), dtype: e.dtype, shape: e.shape, from };
  });
  const groups: (typeof tensors)[] = Array.from({ length: shards }, (_, s) =>
    tensors.slice(Math.floor((s * tensors.length) / shards), Math.floor(((s + 1) * tensors.length) / shards)),
  );
  const outputs: { name: string; bytes: Uint8Array }[] = [];
  const weightMap: Record<string, string> = {};
  for (const [s, group] of groups.entries()) {
    const name =
      shards === 1
        ? 'model.safetensors'
        : `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const bytes = await encodeSafetensors(group, (t) => file.readRaw((t as (typeof tensors)[number]).from));
    outputs.push({ name, bytes });
    for (const t of group) weightMap[t.name] = name;
  }
  await src.close();
  await rm(join(dir, 'model.safetensors'));
  for (const o of outputs) await writeFile(join(dir, o.name), o.bytes);
  if (shards > 1) {
    const totalSize = tensors.reduce((n, t) => n + file.entry(t.from)!.end - file.entry(t.from)!.begin, 0);
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2),
    );
  }
}

/**
 * Turns a transformers-5 folder into the hub's older generation: flat preprocessor_config.json,
 * chat template in chat_template.json (or in tokenizer_config.json), flat rope_theta.
 */
export async function toLegacyGeneration(
  dir: string,
  templateIn: 'chat_template.json' | 'tokenizer_config.json',
): Promise<void> {
  const processor = JSON.parse(await readFile(join(dir, 'processor_config.json'), 'utf8'));
  await writeFile(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({ ...processor.image_processor, processor_class: 'LlavaProcessor' }, null, 2),
  );
  await rm(join(dir, 'processor_config.json'));
  const template = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
  await rm(join(dir, 'chat_template.jinja'));
  if (templateIn === 'chat_template.json') {
    await writeFile(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: template }, null, 2));
  } else {
    const tc = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tc, chat_template: template }, null, 2));
  }
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  const { rope_parameters: rope, ...text } = config.text_config;
  config.text_config = { ...text, rope_theta: rope.rope_theta };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}

export async function editJson(path: string, edit: (json: any) => void): Promise<void> {
  const json = JSON.parse(await readFile(path, 'utf8'));
  edit(json);
  await writeFile(path, JSON.stringify(json, null, 2));
}
