/** A benchmark folder (or one file in it) on disk, for the CLI and Node tests; never in the browser bundle. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { EvalDataError, type DataSource } from './source';

/** Images under a separate folder (`--images`) are listed with this prefix. */
const IMAGES_PREFIX = '@images/';

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(relative(root, path).split(sep).join('/'));
    }
  };
  visit(root);
  return out.sort();
}

/**
 * `data` is a folder, or a file whose folder is listed (the file is returned as `file`).
 * `images` is an extra folder searched for images (COCO's val2014 kept elsewhere).
 */
export function nodeDataSource(data: string, images?: string): { source: DataSource; file?: string } {
  const path = resolve(data);
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new EvalDataError(data, 'no such file or folder');
  }
  const root = stats.isDirectory() ? path : dirname(path);
  const file = stats.isDirectory() ? undefined : basename(path);
  const imagesRoot = images ? resolve(images) : null;
  if (imagesRoot && !statSync(imagesRoot, { throwIfNoEntry: false })?.isDirectory())
    throw new EvalDataError(images!, 'the --images folder does not exist');
  const files = [...walk(root), ...(imagesRoot ? walk(imagesRoot).map((p) => IMAGES_PREFIX + p) : [])];
  return {
    file,
    source: {
      label: path,
      files,
      async read(rel) {
        const full =
          rel.startsWith(IMAGES_PREFIX) && imagesRoot
            ? join(imagesRoot, rel.slice(IMAGES_PREFIX.length))
            : join(root, rel);
        const buf = readFileSync(full);
        return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      },
    },
  };
}
