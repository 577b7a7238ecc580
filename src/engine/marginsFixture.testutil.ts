/**
 * The margins fixture (src/convert/synthetic/margins.ts) as the tests and the GPU bench use it:
 * its checkpoint folder made in memory, opened by openCheckpoint and converted by
 * convertCheckpoint to a package of the given dtype; its image as PNG bytes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobFolder, openCheckpoint } from '../convert/checkpoint/checkpoint';
import { convertCheckpoint } from '../convert/convert';
import { marginsCheckpointFiles, type MarginsFamilyName } from '../convert/synthetic/margins';
import type { PackageDtype } from '../package/manifest';
import { MemorySink } from '../package/sink';

/**
 * The family's checkpoint files, its tokenizer from a folder holding tokenizer.json,
 * tokenizer_config.json, chat_template.jinja (fixtures/<MARGINS_FAMILIES[family].tokenizerFixture>).
 */
export async function marginsCheckpoint(
  tokenizerDir: string,
  family: MarginsFamilyName = 'llama-clip',
): Promise<Record<string, Uint8Array>> {
  return marginsCheckpointFiles(
    {
      tokenizerJson: new Uint8Array(await readFile(join(tokenizerDir, 'tokenizer.json'))),
      tokenizerConfigJson: new Uint8Array(await readFile(join(tokenizerDir, 'tokenizer_config.json'))),
      chatTemplate: await readFile(join(tokenizerDir, 'chat_template.jinja'), 'utf8'),
    },
    0,
    family,
  );
}

export async function marginsPackage(
  checkpoint: Record<string, Uint8Array>,
  dtype: PackageDtype,
): Promise<Map<string, Uint8Array>> {
  const ckpt = await openCheckpoint(blobFolder('margins', checkpoint));
  const sink = new MemorySink();
  await convertCheckpoint(ckpt, { dtype, sink });
  await ckpt.close?.();
  return sink.files;
}
