import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultServer, type FaultServer } from './faultServer';

const FIXTURE = new URL('../../../fixtures/qwen2-siglip/', import.meta.url).pathname;
const WEIGHTS = 'model.safetensors';
let server: FaultServer;
let data: Buffer;
const url = (file: string) => `${server.endpoint}/test-org/qwen2-siglip/resolve/main/${file}`;

beforeAll(async () => {
  server = await startFaultServer({ 'test-org/qwen2-siglip': FIXTURE });
  data = await readFile(join(FIXTURE, WEIGHTS));
});
afterAll(() => server.close());

describe('fault server', () => {
  it('serves HEAD/Range with hub headers: sha256 ETag for LFS files, git blob sha1 for others, CORS', async () => {
    const head = await fetch(url(WEIGHTS), { method: 'HEAD' });
    const sha = createHash('sha256').update(data).digest('hex');
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(data.byteLength);
    expect(head.headers.get('x-linked-etag')).toBe(`"${sha}"`);
    expect(head.headers.get('etag')).toBe(`"${sha}"`);
    expect(head.headers.get('x-repo-commit')).toMatch(/^[0-9a-f]{40}$/);
    expect(head.headers.get('access-control-allow-origin')).toBe('*');
    const cfg = await readFile(join(FIXTURE, 'config.json'));
    const blob = createHash('sha1').update(`blob ${cfg.byteLength}\0`).update(cfg).digest('hex');
    expect((await fetch(url('config.json'), { method: 'HEAD' })).headers.get('etag')).toBe(`"${blob}"`);
    const part = await fetch(url(WEIGHTS), { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${data.byteLength}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    expect((await fetch(url('nope.json'))).status).toBe(404);
  });

  it('drops the connection after N bytes once, then serves the file whole', async () => {
    server.inject(WEIGHTS, { kind: 'drop', afterBytes: 50_000 });
    const res = await fetch(url(WEIGHTS));
    let got = 0;
    const err = await (async () => {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        got += value.byteLength;
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(got).toBe(50_000);
    expect(Buffer.from(await (await fetch(url(WEIGHTS))).arrayBuffer()).equals(data)).toBe(true);
  });

  it('answers 500 the given number of times, then recovers; HEAD is untouched unless asked', async () => {
    server.inject(WEIGHTS, { kind: 'status', status: 500, times: 2 });
    expect((await fetch(url(WEIGHTS), { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(url(WEIGHTS))).status).toBe(500);
    expect((await fetch(url(WEIGHTS))).status).toBe(500);
    expect((await fetch(url(WEIGHTS))).status).toBe(200);
  });

  it('sends a short body under a Content-Range that claims the full range', async () => {
    server.inject(WEIGHTS, { kind: 'short', missingBytes: 10 });
    const res = await fetch(url(WEIGHTS), { headers: { Range: 'bytes=0-999' } });
    expect(res.headers.get('content-range')).toBe(`bytes 0-999/${data.byteLength}`);
    expect((await res.arrayBuffer()).byteLength).toBe(990);
  });

  it('lies about the size on HEAD, flips a byte, and paces a slow body', async () => {
    server.inject(WEIGHTS, { kind: 'headSize', delta: 7 });
    expect(Number((await fetch(url(WEIGHTS), { method: 'HEAD' })).headers.get('content-length'))).toBe(
      data.byteLength + 7,
    );
    server.inject(WEIGHTS, { kind: 'corrupt', at: 5 });
    const bad = Buffer.from(await (await fetch(url(WEIGHTS), { headers: { Range: 'bytes=0-9' } })).arrayBuffer());
    expect(bad[5]).toBe(data[5] ^ 0xff);
    expect(bad.subarray(0, 5).equals(data.subarray(0, 5))).toBe(true);
    server.inject(WEIGHTS, { kind: 'slow', bytesPerSecond: 100_000 });
    const t0 = performance.now();
    const slow = await (await fetch(url(WEIGHTS), { headers: { Range: 'bytes=0-49999' } })).arrayBuffer();
    expect(slow.byteLength).toBe(50_000);
    expect(performance.now() - t0).toBeGreaterThan(400);
  });

  it('logs every request with the fault it got', async () => {
    server.log.length = 0;
    server.inject('config.json', { kind: 'status', status: 503, method: 'HEAD' });
    await fetch(url('config.json'), { method: 'HEAD' });
    await fetch(url('config.json'), { method: 'HEAD' });
    expect(server.log.map((e) => [e.method, e.file, e.status, e.fault])).toEqual([
      ['HEAD', 'config.json', 503, 'status'],
      ['HEAD', 'config.json', 200, null],
    ]);
  });
});
