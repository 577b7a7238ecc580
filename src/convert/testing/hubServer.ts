/**
 * Test helper (Node): a local HTTP server that serves checkpoint folders in the hub's URL layout
 * `/<org>/<name>/resolve/main/<file>`, with HEAD, Range (206 + Content-Range) and 404s, and a
 * switch that cuts a download off after N bytes once (to test resuming).
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { answerRange, listenLocally } from './range';

export interface HubServer {
  endpoint: string;
  /** Every request: method, path and Range header. */
  log: { method: string; path: string; range: string | null; status: number }[];
  /** The next GET of `file` sends only `bytes` bytes of its body, then drops the connection. */
  cutOnce(file: string, bytes: number): void;
  close(): Promise<void>;
}

/** `repos`: hub id ("org/name") → local folder. */
export async function startHubServer(repos: Record<string, string>): Promise<HubServer> {
  const log: HubServer['log'] = [];
  const cuts = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range ?? null;
    const send = (status: number, headers: Record<string, string | number> = {}, body?: Uint8Array) => {
      log.push({ method: req.method ?? '', path, range, status });
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(path);
    const root = m && repos[m[1]];
    if (!m || !root || normalize(m[2]).startsWith('..')) return send(404, { 'x-error-code': 'RepoNotFound' });
    const full = join(root, m[2]);
    try {
      if (!(await stat(full)).isFile()) return send(404);
    } catch {
      return send(404, { 'x-error-code': 'EntryNotFound' });
    }
    const data = new Uint8Array(await readFile(full));
    const span = answerRange(range, data.byteLength);
    if (span.status === 416)
      return span.unparsable ? send(416) : send(416, { 'Content-Range': `bytes */${data.byteLength}` });
    const { start, last: end, status } = span;
    const body = data.subarray(start, end + 1);
    const headers: Record<string, string | number> = { 'Content-Length': body.byteLength, 'Accept-Ranges': 'bytes' };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${data.byteLength}`;
    const cut = cuts.get(m[2]);
    if (cut !== undefined && req.method === 'GET') {
      cuts.delete(m[2]);
      log.push({ method: 'GET', path, range, status });
      res.writeHead(status, headers);
      res.write(body.subarray(0, cut), () => res.destroy());
      return;
    }
    send(status, headers, body);
  });
  const endpoint = await listenLocally(server);
  return {
    endpoint,
    log,
    cutOnce: (file, bytes) => cuts.set(file, bytes),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
