import { type Manifest } from '../../../package/manifest';
/**
 * Loads a model package (manifest.json + graphs, docs/ARCHITECTURE.md) for the reference
 * runner, from a folder or from any `read(path)` (a MemorySink's map in tests).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GraphBytes, type ReferenceModel, ReferenceRunnerError } from './runner';

export type ReadPackageFile = (path: string) => Promise<Uint8Array | undefined>;

export async function loadReferenceModel(read: ReadPackageFile): Promise<ReferenceModel> {
  const raw = await read('manifest.json');
  if (!raw) throw new ReferenceRunnerError('package has no manifest.json');
  const manifest = JSON.parse(new TextDecoder().decode(raw)) as Manifest;
  if (manifest.format !== 'sparsevlm-package' || manifest.version !== 1) {
    throw new ReferenceRunnerError(`manifest.json: unsupported format ${manifest.format} v${manifest.version}`);
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  const graph = async (path: string): Promise<GraphBytes> => {
    const model = await read(path);
    if (!model) throw new ReferenceRunnerError(`${path}: listed in manifest.graphs but missing`, { path });
    const dataPath = `${path}.data`;
    if (!listed.has(dataPath)) return { model };
    const bytes = await read(dataPath);
    if (!bytes) throw new ReferenceRunnerError(`${dataPath}: listed in manifest.files but missing`, { path: dataPath });
    // External data locations in our graphs are the data file's name, relative to the graph.
    return { model, data: { path: dataPath.slice(dataPath.lastIndexOf('/') + 1), bytes } };
  };
  const layers: GraphBytes[] = [];
  for (const path of manifest.graphs.layers) layers.push(await graph(path));
  return {
    act: manifest.activationDtype,
    imageTokenId: manifest.imageTokenId,
    numKvHeads: manifest.text.numKvHeads,
    headDim: manifest.text.headDim,
    vision: await graph(manifest.graphs.vision),
    embed: await graph(manifest.graphs.embed),
    layers,
    head: await graph(manifest.graphs.head),
  };
}

/** A package folder on disk. */
export function readFromDir(dir: string): ReadPackageFile {
  return async (path) => {
    try {
      return new Uint8Array(await readFile(join(dir, path)));
    } catch {
      return undefined;
    }
  };
}

/** Files held in memory (e.g. MemorySink.files). */
export function readFromMap(files: Map<string, Uint8Array>): ReadPackageFile {
  return async (path) => files.get(path);
}
