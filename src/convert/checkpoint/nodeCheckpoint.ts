/** Node-only: a checkpoint folder on disk. */
import { basename, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { FileByteSource } from './nodeBytesource';
import { openCheckpoint, type Checkpoint, type CheckpointFolder } from './checkpoint';
import { ConvertError } from '../../common/errors';

export function dirFolder(dir: string, id = basename(resolve(dir))): CheckpointFolder {
  return {
    id,
    async open(path) {
      const full = join(dir, path);
      try {
        if (!(await stat(full)).isFile()) return null;
      } catch {
        return null;
      }
      return FileByteSource.open(full, path);
    },
  };
}

export async function openCheckpointDir(dir: string, id?: string): Promise<Checkpoint> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error();
  } catch {
    throw new ConvertError('missing-file', dir, 'not a checkpoint folder');
  }
  return openCheckpoint(dirFolder(dir, id));
}
