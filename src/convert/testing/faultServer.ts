/**
 * Test helper (Node): a hub-layout file server (`/<org>/<name>/resolve/main/<file>`) that can
 * misbehave on purpose. It answers HEAD/GET with Range (206 + Content-Range), the headers the
 * hub gives (ETag, x-repo-commit, and for LFS files x-linked-etag/x-linked-size = sha256 and
 * size), CORS for a page on another origin, and injectable faults per file:
 *   drop     send `afterBytes` of the body, then destroy the socket (connection lost mid-file)
 *   status   answer `status` (500…) instead of the file, then recover (GETs only unless `method`)
 *   short    a 206 whose Content-Range claims the range asked for but whose body (and honest
 *            Content-Length) is `missingBytes` shorter: the client must check the length
 *   headSize HEAD reports a Content-Length `delta` off the real size (a lying listing)
 *   corrupt  flip one byte at file offset `at` in the body (the hash must catch it)
 *   slow     pace the body at `bytesPerSecond`
 * Every fault fires `times` times (default 1; Infinity for always), then the file is served
 * correctly. Hub behaviour follows huggingface_hub's file_download.py: LFS files carry their
 * sha256 as ETag / X-Linked-Etag; other files carry the git blob sha1.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { answerRange, listenLocally } from './range';

export type Fault =
  | { kind: 'drop'; afterBytes: number; times?: number }
  | { kind: 'status'; status: number; times?: number; method?: 'GET' | 'HEAD' }
  | { kind: 'short'; missingBytes: number; times?: number }
  | { kind: 'headSize'; delta: number; times?: number }
  | { kind: 'corrupt'; at: number; times?: number }
  | { kind: 'slow'; bytesPerSecond: number; times?: number };

export interface FaultLogEntry {
  method: string;
  repo: string;
  file: string;
  range: string | null;
  status: number;
  /** Body bytes actually sent (before a drop, if any). */
  sent: number;
  fault: Fault['kind'] | null;
}

export interface FaultServer {
  endpoint: string;
  log: FaultLogEntry[];
  /** Adds a fault for `file` (a path inside any served repo). Faults of one file fire in the order added. */
  inject(file: string, fault: Fault): void;
  clearFaults(): void;
  /** Changes x-repo-commit of every repo (the repo "moved on"). */
  bumpCommit(): void;
  close(): Promise<void>;
}

/** Files the hub stores in LFS (sha256 ETag); the rest are plain git blobs. */
const isLfs = (file: string) => /\.(safetensors|bin|onnx|data|png|jpg)$/.test(file);

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers':
    'Content-Range, Content-Length, Accept-Ranges, ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size',
};

interface ArmedFault {
  fault: Fault;
  left: number;
}

/** `repos`: hub id ("org/name") → local folder. */
export async function startFaultServer(repos: Record<string, string>): Promise<FaultServer> {
  const log: FaultLogEntry[] = [];
  const faults = new Map<string, ArmedFault[]>();
  let commitSalt = 0;
  const hashes = new Map<string, { sha256: string; blobSha1: string }>();

  /** The next armed fault of `file` among `kinds`, consumed. */
  const take = (file: string, kinds: Fault['kind'][], method: string, range?: [number, number]): Fault | null => {
    const list = faults.get(file);
    const armed = list?.find(
      (a) =>
        kinds.includes(a.fault.kind) &&
        a.left > 0 &&
        (a.fault.kind !== 'status' || (a.fault.method ?? 'GET') === method) &&
        // A corrupt byte fires only on a response that carries it.
        (a.fault.kind !== 'corrupt' || (range !== undefined && a.fault.at >= range[0] && a.fault.at <= range[1])),
    );
    if (!armed) return null;
    armed.left -= 1;
    return armed.fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = typeof req.headers.range === 'string' ? req.headers.range : null;
    const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(path);
    const entry: FaultLogEntry = {
      method,
      repo: m?.[1] ?? '',
      file: m?.[2] ?? path,
      range,
      status: 0,
      sent: 0,
      fault: null,
    };
    log.push(entry);
    const end = (status: number, headers: Record<string, string | number> = {}, body?: Uint8Array) => {
      entry.status = status;
      entry.sent = body && method !== 'HEAD' ? body.byteLength : 0;
      res.writeHead(status, { ...CORS, ...headers });
      res.end(method === 'HEAD' ? undefined : body);
    };
    if (method === 'OPTIONS') {
      return end(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD',
        'Access-Control-Allow-Headers': 'Range, Authorization',
        'Access-Control-Max-Age': 600,
      });
    }
    const root = m && repos[m[1]];
    if (!m || !root || normalize(m[2]).startsWith('..')) return end(404, { 'x-error-code': 'RepoNotFound' });
    const full = join(root, m[2]);
    try {
      if (!(await stat(full)).isFile()) return end(404, { 'x-error-code': 'EntryNotFound' });
    } catch {
      return end(404, { 'x-error-code': 'EntryNotFound' });
    }
    const data = new Uint8Array(await readFile(full));
    let h = hashes.get(full);
    if (!h) {
      h = {
        sha256: createHash('sha256').update(data).digest('hex'),
        blobSha1: createHash('sha1').update(`blob ${data.byteLength}\0`).update(data).digest('hex'),
      };
      hashes.set(full, h);
    }
    const commit = createHash('sha1').update(`${m[1]}@${commitSalt}`).digest('hex');
    const meta: Record<string, string | number> = { 'Accept-Ranges': 'bytes', 'X-Repo-Commit': commit };
    if (isLfs(m[2]))
      Object.assign(meta, {
        ETag: `"${h.sha256}"`,
        'X-Linked-Etag': `"${h.sha256}"`,
        'X-Linked-Size': data.byteLength,
      });
    else meta.ETag = `"${h.blobSha1}"`;

    const statusFault = take(m[2], ['status'], method);
    if (statusFault?.kind === 'status') {
      entry.fault = 'status';
      return end(statusFault.status, { 'Content-Type': 'text/plain' }, new TextEncoder().encode('injected failure'));
    }
    if (method === 'HEAD') {
      const lie = take(m[2], ['headSize'], method);
      if (lie?.kind === 'headSize') entry.fault = 'headSize';
      return end(200, { ...meta, 'Content-Length': data.byteLength + (lie?.kind === 'headSize' ? lie.delta : 0) });
    }

    const span = answerRange(range, data.byteLength);
    if (span.status === 416) return end(416, { 'Content-Range': `bytes */${data.byteLength}` });
    const { start, last, status } = span;
    let body = data.subarray(start, last + 1);
    const headers: Record<string, string | number> = { ...meta };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${last}/${data.byteLength}`;

    const bodyFault = take(m[2], ['drop', 'short', 'corrupt', 'slow'], method, [start, last]);
    entry.fault = bodyFault?.kind ?? null;
    if (bodyFault?.kind === 'short') body = body.subarray(0, Math.max(0, body.byteLength - bodyFault.missingBytes));
    if (bodyFault?.kind === 'corrupt') {
      body = body.slice();
      body[bodyFault.at - start] ^= 0xff;
    }
    headers['Content-Length'] = body.byteLength;
    entry.status = status;
    res.writeHead(status, { ...CORS, ...headers });
    const stopAt = bodyFault?.kind === 'drop' ? Math.min(bodyFault.afterBytes, body.byteLength) : body.byteLength;
    const pace = bodyFault?.kind === 'slow' ? bodyFault.bytesPerSecond : Infinity;
    const chunk = Number.isFinite(pace) ? Math.max(1024, Math.floor(pace / 20)) : 1 << 20;
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    for (let at = 0; at < stopAt && !closed; at += chunk) {
      const piece = body.subarray(at, Math.min(stopAt, at + chunk));
      const flushed = new Promise<void>((ok) => res.write(piece, () => ok()));
      entry.sent += piece.byteLength;
      await flushed;
      if (Number.isFinite(pace)) await new Promise((ok) => setTimeout(ok, (piece.byteLength / pace) * 1000));
    }
    if (bodyFault?.kind === 'drop') res.destroy();
    else res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, CORS);
      res.end(String(err));
    });
  });
  const endpoint = await listenLocally(server);
  return {
    endpoint,
    log,
    inject(file, fault) {
      const list = faults.get(file) ?? [];
      list.push({ fault, left: fault.times ?? 1 });
      faults.set(file, list);
    },
    clearFaults: () => faults.clear(),
    bumpCommit: () => {
      commitSalt += 1;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
