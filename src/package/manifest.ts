/**
 * The package manifest (docs/ARCHITECTURE.md, "The model package", format version 1):
 * its type, and a parser that checks what the engine relies on and says which field is wrong.
 */
import { EngineError, ConvertError } from '../common/errors';

export const PACKAGE_FORMAT = 'sparsevlm-package';
export const SUPPORTED_VERSIONS = [1] as const;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof PACKAGE_FORMAT;
  version: 1;
  name: string;
  source?: { kind: string; id?: string; layout?: string };
  synthetic?: boolean;
  dtype: 'fp32' | 'fp16' | 'q4' | 'q4f16';
  activationDtype: 'float32' | 'float16';
  architecture: { text: string; vision: string };
  text: {
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    numKvHeads: number;
    headDim: number;
    intermediateSize: number;
    vocabSize: number;
    ropeTheta: number;
    rmsNormEps: number;
    maxPositions: number;
    bosTokenId: number | null;
    eosTokenIds: number[];
    padTokenId: number | null;
  };
  vision: {
    imageSize: number;
    patchSize: number;
    gridSize: [number, number];
    visualTokens: number;
    featureLayer: number;
    selectStrategy: 'default' | 'full';
  };
  imageTokenId: number;
  imageToken: string;
  /**
   * Video-LLaVA (docs/CHECKPOINTS.md): video frames go through `graphs.videoVision` (a second
   * tower; every token kept, CLS included) and one `token` in the prompt stands for
   * frames × `tokensPerFrame` tokens. Absent: frames are images (`imageToken` each).
   */
  video?: { tokenId: number; token: string; tokensPerFrame: number };
  chatTemplate: string;
  graphs: { vision: string; videoVision?: string; embed: string; layers: string[]; head: string };
  files: ManifestFile[];
}

const fail = (field: string, why: string): EngineError =>
  new EngineError('model', 'manifest-invalid', `The package manifest is invalid: ${field} ${why}.`, { field });

function num(obj: Record<string, unknown>, key: string, path: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(`${path}.${key}`, 'must be a number');
  return v;
}

/** Parse manifest.json text; throws EngineError ('manifest-invalid' | 'manifest-version'). */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EngineError(
      'model',
      'manifest-invalid',
      `manifest.json is not valid JSON (${(e as Error).message}).`,
      {},
    );
  }
  if (!raw || typeof raw !== 'object') throw fail('manifest.json', 'is not an object');
  const m = raw as Record<string, unknown>;
  if (m.format !== PACKAGE_FORMAT)
    throw fail('format', `must be "${PACKAGE_FORMAT}" (got ${JSON.stringify(m.format)})`);
  if (!SUPPORTED_VERSIONS.includes(m.version as 1)) {
    throw new EngineError(
      'model',
      'manifest-version',
      `This package has manifest version ${JSON.stringify(m.version)}, which this app does not know (it reads version ${SUPPORTED_VERSIONS.join(', ')}).`,
      { got: m.version, supported: [...SUPPORTED_VERSIONS] },
    );
  }
  const t = m.text as Record<string, unknown> | undefined;
  const v = m.vision as Record<string, unknown> | undefined;
  const g = m.graphs as Record<string, unknown> | undefined;
  if (!t) throw fail('text', 'is missing');
  if (!v) throw fail('vision', 'is missing');
  if (!g) throw fail('graphs', 'is missing');
  for (const k of [
    'hiddenSize',
    'numLayers',
    'numHeads',
    'numKvHeads',
    'headDim',
    'vocabSize',
    'ropeTheta',
    'maxPositions',
  ])
    num(t, k, 'text');
  for (const k of ['imageSize', 'patchSize', 'visualTokens']) num(v, k, 'vision');
  num(m, 'imageTokenId', 'manifest');
  if (!Array.isArray(t.eosTokenIds)) throw fail('text.eosTokenIds', 'must be an array');
  if (typeof m.chatTemplate !== 'string') throw fail('chatTemplate', 'must be a string');
  if (!Array.isArray(g.layers) || g.layers.length !== t.numLayers)
    throw fail('graphs.layers', `must list text.numLayers (${String(t.numLayers)}) graphs`);
  for (const k of ['vision', 'embed', 'head'])
    if (typeof g[k] !== 'string') throw fail(`graphs.${k}`, 'must be a path');
  if (m.activationDtype !== 'float32' && m.activationDtype !== 'float16')
    throw fail('activationDtype', 'must be float32 or float16');
  if (!Array.isArray(m.files)) throw fail('files', 'must be an array');
  for (const [i, f] of (m.files as Record<string, unknown>[]).entries()) {
    if (typeof f.path !== 'string' || typeof f.sha256 !== 'string' || typeof f.bytes !== 'number')
      throw fail(`files[${i}]`, 'needs path, bytes and sha256');
    if (f.path.includes('..') || f.path.startsWith('/'))
      throw fail(`files[${i}].path`, 'must be relative inside the package');
  }
  const video = m.video as Record<string, unknown> | undefined;
  if (video !== undefined) {
    for (const k of ['tokenId', 'tokensPerFrame']) num(video, k, 'video');
    if (typeof video.token !== 'string') throw fail('video.token', 'must be a string');
    if (typeof g.videoVision !== 'string') throw fail('graphs.videoVision', 'must be a path when "video" is given');
  }
  const listed = new Set((m.files as ManifestFile[]).map((f) => f.path));
  const optional = typeof g.videoVision === 'string' ? [g.videoVision] : [];
  for (const p of [g.vision, ...optional, g.embed, g.head, ...(g.layers as string[])] as string[]) {
    if (!listed.has(p)) throw fail(`graphs (${p})`, 'names a file that files[] does not list');
  }
  return raw as Manifest;
}

/** External-data files that belong to a graph: listed files named `<graph>.data` (or `<graph>_data*`). */
export function externalDataOf(manifest: Manifest, graphPath: string): ManifestFile[] {
  return manifest.files.filter((f) => f.path === `${graphPath}.data` || f.path.startsWith(`${graphPath}_data`));
}

export type PackageDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16';

export const PACKAGE_DTYPES: readonly PackageDtype[] = ['fp32', 'fp16', 'q4', 'q4f16'];

/** Package paths are plain relative paths: no '..', no absolute paths, no backslashes. */
export function checkPackagePath(path: string): void {
  if (
    !path ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.split('/').some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new ConvertError('output', path || '(empty path)', 'not a relative path inside the package');
  }
}

export function layerGraphPath(layer: number, numLayers: number): string {
  return `layers/${String(layer).padStart(numLayers >= 100 ? 3 : 2, '0')}.onnx`;
}

export function activationDtypeOf(dtype: PackageDtype): 'float32' | 'float16' {
  return dtype === 'fp16' || dtype === 'q4f16' ? 'float16' : 'float32';
}
