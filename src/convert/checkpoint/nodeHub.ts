/**
 * Node-only: download a hub checkpoint into a folder, resumable. Each file streams into
 * `<file>.part`; an existing .part is continued with `Range: bytes=<have>-` (a 200 answer means
 * the server ignored the range: start over). The size is checked against the hub's before the
 * .part is renamed, and a complete file of the right size is not fetched again.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConvertError, fmtInt } from '../../common/errors';
import { hubInit, hubUrl, listHubFiles, type HubFile, type HubOptions } from './hub';

export interface DownloadProgress {
  file: string;
  fileBytes: number;
  fileTotal: number;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function downloadFile(
  id: string,
  file: HubFile,
  dest: string,
  options: HubOptions,
  onBytes: (fileBytes: number) => void,
): Promise<void> {
  const url = hubUrl(id, file.path, options);
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  let have = (await sizeOf(part)) ?? 0;
  if (have > file.size) {
    await unlink(part);
    have = 0;
  }
  const init = hubInit(options);
  const headers = new Headers(init.headers);
  if (have > 0 && have < file.size) headers.set('Range', `bytes=${have}-`);
  let res: Response;
  if (have === file.size) {
    res = new Response(new Uint8Array(0), { status: 206 });
  } else {
    try {
      res = await fetch(url, { ...init, headers });
    } catch (err) {
      throw new ConvertError('download', url, `cannot reach the server (${(err as Error).message})`);
    }
    if (res.status === 200)
      have = 0; // range not honoured: the body is the whole file
    else if (res.status !== 206)
      throw new ConvertError(
        res.status === 404 ? 'missing-file' : 'download',
        url,
        `HTTP ${res.status} ${res.statusText}`,
      );
  }
  const out = createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
  const closed = new Promise<void>((ok, fail) => {
    out.on('close', ok);
    out.on('error', fail);
  });
  let written = have;
  onBytes(written);
  try {
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!out.write(value)) await new Promise<void>((ok) => out.once('drain', ok));
        written += value.byteLength;
        onBytes(written);
      }
    }
  } catch (err) {
    out.end();
    await closed;
    throw new ConvertError(
      'download',
      url,
      `connection lost after ${fmtInt(written)} of ${fmtInt(file.size)} bytes (run again to resume): ${(err as Error).message}`,
    );
  }
  out.end();
  await closed;
  const got = (await sizeOf(part)) ?? 0;
  if (got !== file.size) {
    throw new ConvertError(
      'size-mismatch',
      file.path,
      `downloaded ${fmtInt(got)} bytes but the hub says ${fmtInt(file.size)} (run again to resume)`,
    );
  }
  await rename(part, dest);
}

/** Downloads what `id` needs into `dir` (created); returns the files. */
export async function downloadHubCheckpoint(
  id: string,
  dir: string,
  options: HubOptions & { onProgress?: (progress: DownloadProgress) => void } = {},
): Promise<HubFile[]> {
  const files = await listHubFiles(id, options);
  const bytesTotal = files.reduce((n, f) => n + f.size, 0);
  let finished = 0;
  for (const [i, file] of files.entries()) {
    const dest = join(dir, file.path);
    const report = (fileBytes: number) =>
      options.onProgress?.({
        file: file.path,
        fileBytes,
        fileTotal: file.size,
        bytesDone: finished + fileBytes,
        bytesTotal,
        filesDone: i,
        filesTotal: files.length,
      });
    if ((await sizeOf(dest)) !== file.size) await downloadFile(id, file, dest, options, report);
    else report(file.size);
    finished += file.size;
  }
  options.onProgress?.({
    file: '',
    fileBytes: 0,
    fileTotal: 0,
    bytesDone: bytesTotal,
    bytesTotal,
    filesDone: files.length,
    filesTotal: files.length,
  });
  return files;
}
