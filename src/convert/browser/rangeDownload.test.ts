/**
 * The download loop against the fault server, in Node. The target here is an in-memory
 * PartialFile (the interface's plain implementation); the OPFS one runs in e2e/hub.spec.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConvertError } from '../../common/errors';
import { startFaultServer, type FaultServer } from '../testing/faultServer';
import {
  downloadFile,
  sha256FromEtag,
  type DownloadState,
  type PartialFile,
  type RemoteFile,
  type StateStore,
} from './rangeDownload';
import { Sha256 } from './sha256';

const FIXTURE = new URL('../../../fixtures/qwen2-siglip/', import.meta.url).pathname;
const WEIGHTS = 'model.safetensors';
const FAST = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

class MemoryFile implements PartialFile {
  bytes = new Uint8Array(0);
  async size() {
    return this.bytes.byteLength;
  }
  async write(offset: number, data: Uint8Array) {
    expect(offset).toBe(this.bytes.byteLength); // the loop only ever appends
    const next = new Uint8Array(offset + data.byteLength);
    next.set(this.bytes);
    next.set(data, offset);
    this.bytes = next;
  }
  async truncate(size: number) {
    this.bytes = this.bytes.slice(0, size);
  }
  async read(offset: number, length: number) {
    return this.bytes.slice(offset, offset + length);
  }
}

class MemoryStates implements StateStore {
  map = new Map<string, DownloadState>();
  async get(f: string) {
    return this.map.get(f) ?? null;
  }
  async set(f: string, s: DownloadState | null) {
    if (s) this.map.set(f, structuredClone(s));
    else this.map.delete(f);
  }
}

let server: FaultServer;
let data: Buffer;
let sha: string;
let remote: RemoteFile;

beforeAll(async () => {
  server = await startFaultServer({ 'o/q': FIXTURE });
  data = await readFile(join(FIXTURE, WEIGHTS));
  sha = createHash('sha256').update(data).digest('hex');
  remote = {
    path: WEIGHTS,
    url: `${server.endpoint}/o/q/resolve/main/${WEIGHTS}`,
    size: data.byteLength,
    etag: `"${sha}"`,
  };
});
afterAll(() => server.close());
beforeEach(() => {
  server.clearFaults();
  server.log.length = 0;
});

const gets = () => server.log.filter((e) => e.method === 'GET').map((e) => [e.range, e.status, e.fault]);

describe('sha256', () => {
  it('matches node:crypto across odd chunkings and a save/restore in the middle', async () => {
    const bytes = randomBytes(10_000);
    for (const cut of [0, 1, 55, 56, 63, 64, 65, 4097]) {
      const a = (await Sha256.create()).update(bytes.subarray(0, cut));
      expect(a.hex()).toBe(createHash('sha256').update(bytes.subarray(0, cut)).digest('hex'));
      const b = (await Sha256.create(JSON.parse(JSON.stringify(a.save())))).update(bytes.subarray(cut));
      expect(b.length).toBe(bytes.length);
      expect(b.hex()).toBe(createHash('sha256').update(bytes).digest('hex'));
      // hex() finishes a copy: the first hasher keeps going from where it was.
      expect(a.update(bytes.subarray(cut)).hex()).toBe(b.hex());
    }
    expect((await Sha256.create()).hex()).toBe(createHash('sha256').digest('hex'));
  });
  it('restarts from zero on a saved state of the old format (nothing to load)', async () => {
    const old = { words: [1, 2, 3, 4, 5, 6, 7, 8], tail: '', length: 64 } as unknown as Parameters<
      typeof Sha256.create
    >[0];
    const h = await Sha256.create(old);
    expect(h.length).toBe(0);
    expect(h.hex()).toBe(createHash('sha256').digest('hex'));
  });
  it('reads a sha256 out of hub ETags and nothing out of git blob sha1s', () => {
    expect(sha256FromEtag(`"${'a'.repeat(64)}"`)).toBe('a'.repeat(64));
    expect(sha256FromEtag(`W/"${'B'.repeat(64)}"`)).toBe('b'.repeat(64));
    expect(sha256FromEtag(`"${'a'.repeat(40)}"`)).toBeNull();
    expect(sha256FromEtag(null)).toBeNull();
  });
});

describe('downloadFile', () => {
  it('fetches in Range chunks and verifies the hub sha256', async () => {
    const file = new MemoryFile();
    const states = new MemoryStates();
    expect(await downloadFile(remote, file, states, { chunkBytes: 400_000, retry: FAST })).toBe(sha);
    expect(Buffer.from(file.bytes).equals(data)).toBe(true);
    expect(gets().length).toBe(Math.ceil(data.byteLength / 400_000));
    expect(gets()[1][0]).toBe(`bytes=400000-799999`);
    expect(states.map.get(WEIGHTS)!.verified).toBe(true);
    // A verified file is not fetched again.
    server.log.length = 0;
    expect(await downloadFile(remote, file, states, { retry: FAST })).toBe(sha);
    expect(gets()).toEqual([]);
  });

  it('continues from the byte where the connection dropped', async () => {
    server.inject(WEIGHTS, { kind: 'drop', afterBytes: 300_000 });
    const file = new MemoryFile();
    expect(await downloadFile(remote, file, new MemoryStates(), { chunkBytes: 1 << 30, retry: FAST })).toBe(sha);
    expect(gets()).toEqual([
      [`bytes=0-${data.byteLength - 1}`, 206, 'drop'],
      [`bytes=300000-${data.byteLength - 1}`, 206, null],
    ]);
    expect(Buffer.from(file.bytes).equals(data)).toBe(true);
  });

  it('retries 500s with backoff and recovers; gives up with a clear error when they persist', async () => {
    server.inject(WEIGHTS, { kind: 'status', status: 500, times: 2 });
    const retries: string[] = [];
    expect(
      await downloadFile(remote, new MemoryFile(), new MemoryStates(), {
        retry: FAST,
        onRetry: (why) => retries.push(why),
      }),
    ).toBe(sha);
    expect(retries).toEqual(['HTTP 500', 'HTTP 500']);
    server.inject(WEIGHTS, { kind: 'status', status: 502, times: Infinity });
    const err = await downloadFile(remote, new MemoryFile(), new MemoryStates(), { retry: FAST }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.message).toBe(
      `${remote.url}: gave up after 4 attempts at byte 0 of ${data.byteLength.toLocaleString('en-US')}: HTTP 502 (start again to resume)`,
    );
  });

  it('treats a body shorter than its Content-Range as a fault: once is recovered, always is an error', async () => {
    server.inject(WEIGHTS, { kind: 'short', missingBytes: 1000 });
    const file = new MemoryFile();
    expect(await downloadFile(remote, file, new MemoryStates(), { chunkBytes: 1 << 30, retry: FAST })).toBe(sha);
    expect(gets()[1][0]).toBe(`bytes=${data.byteLength - 1000}-${data.byteLength - 1}`);
    server.inject(WEIGHTS, { kind: 'short', missingBytes: 1000, times: Infinity });
    const err = await downloadFile(remote, new MemoryFile(), new MemoryStates(), {
      chunkBytes: 1 << 30,
      retry: FAST,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.message).toMatch(/gave up after 4 attempts at byte .*: a response said 1,000 bytes and carried 0/);
  });

  it('refuses a file whose real size differs from the listing', async () => {
    const err = await downloadFile({ ...remote, size: data.byteLength + 7 }, new MemoryFile(), new MemoryStates(), {
      retry: FAST,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.code).toBe('size-mismatch');
    expect(err.message).toMatch(/listed .* bytes but serves/);
  });

  it('discards a file whose sha256 does not match the hub and says so', async () => {
    server.inject(WEIGHTS, { kind: 'corrupt', at: 1234 });
    const file = new MemoryFile();
    const states = new MemoryStates();
    const err = await downloadFile(remote, file, states, { retry: FAST }).catch((e) => e);
    expect(err).toBeInstanceOf(ConvertError);
    expect(err.message).toMatch(new RegExp(`^model.safetensors: sha256 [0-9a-f]{64} does not match the hub's ${sha}`));
    expect(file.bytes.byteLength).toBe(0);
    expect(await downloadFile(remote, file, states, { retry: FAST })).toBe(sha);
  });

  it('resumes after a "reload": bytes on disk and saved hash state, nothing fetched twice', async () => {
    server.inject(WEIGHTS, { kind: 'drop', afterBytes: 250_000 });
    const file = new MemoryFile();
    const states = new MemoryStates();
    const abort = new AbortController();
    // First session: one chunk fails after 250 kB; stop it there (as a reload would).
    await downloadFile(remote, file, states, {
      chunkBytes: 1 << 30,
      retry: FAST,
      signal: abort.signal,
      onRetry: () => abort.abort(),
    }).catch(() => {});
    expect(file.bytes.byteLength).toBe(250_000);
    expect(states.map.get(WEIGHTS)!.hash!.length).toBe(250_000);
    server.log.length = 0;
    expect(await downloadFile(remote, file, states, { chunkBytes: 1 << 30, retry: FAST })).toBe(sha);
    expect(gets()).toEqual([[`bytes=250000-${data.byteLength - 1}`, 206, null]]);
  });

  it('starts over when the hub file changed (different ETag)', async () => {
    const file = new MemoryFile();
    const states = new MemoryStates();
    await file.write(0, new Uint8Array(1000).fill(7));
    await states.set(WEIGHTS, { size: remote.size, etag: '"old"', hash: null, verified: false, sha256: null });
    expect(await downloadFile(remote, file, states, { retry: FAST })).toBe(sha);
    expect(gets()[0][0]).toBe(`bytes=0-${data.byteLength - 1}`);
  });
});
