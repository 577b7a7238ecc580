/**
 * Hugging Face hub access without the hub API: files live at
 * `<endpoint>/<org>/<name>/resolve/<revision>/<file>` (the layout huggingface_hub's
 * hf_hub_download uses, endpoint from HF_ENDPOINT), so we try the known file names and follow
 * the safetensors index to the shards. Shared by the Node downloader (nodeHub.ts) and the
 * browser, which can open a hub checkpoint in place with Range reads (hubFolder).
 */
import { HttpByteSource } from './bytesource';
import type { CheckpointFolder } from './checkpoint';
import { ConvertError } from '../../common/errors';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubOptions {
  /** Default: HF_ENDPOINT where a process environment exists, else the public hub. */
  endpoint?: string;
  revision?: string;
  /** Bearer token for gated/private repos (HF_TOKEN). */
  token?: string;
}

/** Files a LLaVA checkpoint may have besides its weights; the first is required. */
export const HUB_SIDE_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'chat_template.json',
  'chat_template.jinja',
  'generation_config.json',
  'special_tokens_map.json',
] as const;

export function isHubId(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) && !value.includes('..');
}

export function hubEndpoint(options: HubOptions = {}): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return (options.endpoint ?? env?.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

export function hubUrl(id: string, file: string, options: HubOptions = {}): string {
  if (!isHubId(id)) throw new ConvertError('bad-value', id, 'not a hub id (expected "org/name")');
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint(options)}/${id}/resolve/${encodeURIComponent(options.revision ?? 'main')}/${path}`;
}

export function hubInit(options: HubOptions = {}): RequestInit {
  // identity: sizes from HEAD must be the bytes on disk, not of a gzip'd body (as huggingface_hub
  // asks too). Browsers drop this forbidden header silently and report decoded sizes anyway.
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  return { headers };
}

export interface HubFile {
  path: string;
  size: number;
}

/** Size of a hub file, or null when the hub answers 404. */
export async function hubFileSize(id: string, file: string, options: HubOptions = {}): Promise<number | null> {
  try {
    return (await HttpByteSource.open(hubUrl(id, file, options), hubInit(options))).size;
  } catch (err) {
    if (err instanceof ConvertError && err.code === 'missing-file') return null;
    throw err;
  }
}

/** The files to fetch for a checkpoint: present side files, then the index and its shards (or model.safetensors). */
export async function listHubFiles(id: string, options: HubOptions = {}): Promise<HubFile[]> {
  const files: HubFile[] = [];
  for (const path of HUB_SIDE_FILES) {
    const size = await hubFileSize(id, path, options);
    if (size === null && path === 'config.json')
      throw new ConvertError(
        'missing-file',
        hubUrl(id, path, options),
        `no config.json: is "${id}" a model repo on ${hubEndpoint(options)}?`,
      );
    if (size !== null) files.push({ path, size });
  }
  const indexPath = 'model.safetensors.index.json';
  const indexSize = await hubFileSize(id, indexPath, options);
  if (indexSize !== null) {
    files.push({ path: indexPath, size: indexSize });
    const source = await HttpByteSource.open(hubUrl(id, indexPath, options), hubInit(options));
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(new TextDecoder().decode(await source.read(0, source.size)));
    } catch (err) {
      throw new ConvertError('bad-json', indexPath, `not valid JSON (${(err as Error).message})`);
    }
    if (!index.weight_map) throw new ConvertError('missing-key', indexPath, 'missing key "weight_map"');
    for (const shard of [...new Set(Object.values(index.weight_map))].sort()) {
      if (typeof shard !== 'string' || shard.includes('..') || shard.startsWith('/'))
        throw new ConvertError('bad-index', indexPath, `weight_map names an invalid shard ${JSON.stringify(shard)}`);
      const size = await hubFileSize(id, shard, options);
      if (size === null)
        throw new ConvertError('missing-file', shard, `shard listed in ${indexPath} is not on the hub`);
      files.push({ path: shard, size });
    }
  } else {
    const size = await hubFileSize(id, 'model.safetensors', options);
    if (size === null)
      throw new ConvertError(
        'missing-file',
        hubUrl(id, 'model.safetensors', options),
        'no model.safetensors or model.safetensors.index.json',
      );
    files.push({ path: 'model.safetensors', size });
  }
  return files;
}

/** A hub repo opened in place: every read is a Range request (the browser converts without a full download). */
export function hubFolder(id: string, options: HubOptions = {}): CheckpointFolder {
  return {
    id,
    async open(path) {
      try {
        return await HttpByteSource.open(hubUrl(id, path, options), hubInit(options));
      } catch (err) {
        if (err instanceof ConvertError && err.code === 'missing-file') return null;
        throw err;
      }
    },
  };
}
