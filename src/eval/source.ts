/**
 * Where a benchmark's files come from: a folder on disk (Node, nodeSource.ts) or a folder a
 * person picked in the browser (filesSource.ts). Paths are '/'-separated and relative to the
 * folder. Benchmarks name images differently (POPE `COCO_val2014_….jpg`, GQA `n161313` →
 * `images/n161313.jpg`, MME `category/images/x.png`), so images are found through an index by
 * relative path, then by file name, then by file name without extension.
 */

export interface DataSource {
  /** The folder (or file) in words, for messages and the results' header. */
  label: string;
  /** Every file under the folder, relative paths, sorted. */
  files: readonly string[];
  read(path: string): Promise<Uint8Array>;
}

/** A benchmark file that is missing or does not parse: the whole dataset cannot be read. */
export class EvalDataError extends Error {
  override readonly name = 'EvalDataError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.gif'];

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const stem = (name: string) => (name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name);
const isImage = (path: string) => IMAGE_EXTENSIONS.some((e) => path.toLowerCase().endsWith(e));

/** Finds an image file for a benchmark's image reference; null when there is none. */
export class ImageIndex {
  private readonly byPath = new Set<string>();
  /** File name → every path with it, sorted (ScienceQA names every image `image.png`). */
  private readonly byName = new Map<string, string[]>();
  private readonly byStem = new Map<string, string[]>();

  constructor(files: readonly string[]) {
    const add = (map: Map<string, string[]>, key: string, path: string) => {
      const list = map.get(key);
      if (list) list.push(path);
      else map.set(key, [path]);
    };
    for (const path of files) {
      if (!isImage(path)) continue;
      this.byPath.add(path);
      add(this.byName, baseName(path), path);
      add(this.byStem, stem(baseName(path)), path);
    }
  }

  /**
   * `ref` as the benchmark writes it (a name, or a path such as `test/123/image.png`); `under`
   * is a folder to try it in first (MME's category). Exact path first, then the one file whose
   * path ends with `/ref`, then a unique file name, then a unique name without extension.
   */
  find(ref: string, under = ''): string | null {
    const clean = ref.replace(/^\.?\//, '');
    for (const candidate of [under ? `${under}/${clean}` : '', clean]) {
      if (candidate && this.byPath.has(candidate)) return candidate;
    }
    const named = this.byName.get(baseName(clean)) ?? this.byStem.get(stem(baseName(clean))) ?? [];
    if (named.length === 1) return named[0];
    const suffixed = named.filter((p) => p.endsWith(`/${clean}`) && (!under || p.includes(`${under}/`)));
    if (suffixed.length >= 1) return suffixed[0];
    const inUnder = under ? named.filter((p) => p.startsWith(`${under}/`) || p.includes(`/${under}/`)) : [];
    return inUnder.length === 1 ? inUnder[0] : null;
  }
}

export async function readText(source: DataSource, path: string): Promise<string> {
  return new TextDecoder().decode(await source.read(path));
}

export async function readJson(source: DataSource, path: string): Promise<unknown> {
  const text = await readText(source, path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EvalDataError(path, `not valid JSON (${(e as Error).message})`);
  }
}

/** JSON Lines: one value per non-empty line; a line that does not parse is returned as its error. */
export async function readJsonLines(
  source: DataSource,
  path: string,
): Promise<({ value: unknown; line: number } | { error: string; line: number })[]> {
  const lines = (await readText(source, path)).split(/\r?\n/);
  const out: ({ value: unknown; line: number } | { error: string; line: number })[] = [];
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    try {
      out.push({ value: JSON.parse(text), line: i + 1 });
    } catch (e) {
      out.push({ error: `line ${i + 1} is not JSON (${(e as Error).message})`, line: i + 1 });
    }
  });
  return out;
}

/**
 * The one file a format reads: `file` when the person named it, else the only file in the
 * folder that `match` accepts (a clear error when there is none or several).
 */
export function pickFile(
  source: DataSource,
  file: string | undefined,
  match: (path: string) => boolean,
  what: string,
): string {
  if (file) {
    if (!source.files.includes(file)) throw new EvalDataError(file, `not found in ${source.label}`);
    return file;
  }
  const found = source.files.filter(match);
  if (found.length === 0) throw new EvalDataError(source.label, `no ${what} found`);
  if (found.length > 1)
    throw new EvalDataError(
      source.label,
      `several ${what} found (${found.slice(0, 4).join(', ')}${found.length > 4 ? ', …' : ''}); name one with --data <folder>/<file>`,
    );
  return found[0];
}
