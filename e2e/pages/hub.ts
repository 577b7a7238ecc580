/**
 * Test page API for e2e/hub.spec.ts: runs the real conversion worker against a hub-layout
 * server and reads back what the OPFS store holds. Nothing here is a stand-in: the spec
 * drives the same worker, store and download code the app uses.
 */
import { OpfsPackageStore, packageKey } from '../../src/package/opfsStore';
import type { BrowserConvertProgress, BrowserConvertResult } from '../../src/convert/browser/convertInBrowser';
import { runConversion, type ConvertRequest } from '../../src/convert/browser/convertProtocol';
import { chooseDtype } from '../../src/convert/browser/dtype';
import { sha256Hex } from '../../src/package/hash';

let worker: Worker | null = null;
const progress: BrowserConvertProgress[] = [];

const api = {
  packageKey,
  progress,
  async chooseDtype() {
    return chooseDtype((await navigator.gpu?.requestAdapter()) ?? null);
  },
  /** Starts a conversion; resolves with the result or a plain error record. */
  async convert(
    request: ConvertRequest,
  ): Promise<{ ok: true; result: BrowserConvertResult } | { ok: false; error: Record<string, unknown> }> {
    worker ??= new Worker(new URL('../../src/convert/browser/convertWorker.ts', import.meta.url), { type: 'module' });
    progress.length = 0;
    try {
      return { ok: true, result: await runConversion(worker, request, (p) => progress.push(p)) };
    } catch (err) {
      const e = err as Error & Record<string, unknown>;
      return {
        ok: false,
        error: { name: e.name, message: e.message, code: e.code, reason: e.reason, figures: e.figures },
      };
    }
  },
  /** Starts a conversion without waiting (for the reload test). */
  start(request: ConvertRequest): void {
    void api.convert(request);
  },
  async list() {
    return (await OpfsPackageStore.open()).list();
  },
  async remove(key: string) {
    await (await OpfsPackageStore.open()).delete(key);
  },
  /** Every file of a cached package with its size and sha256, recomputed from OPFS. */
  async files(key: string) {
    const store = await OpfsPackageStore.open();
    const out: { path: string; bytes: number; sha256: string }[] = [];
    for (const { path, file } of await store.files(key)) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      out.push({ path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
    }
    return out;
  },
  /** The engine-side reader over the cached package: the loader's view. */
  async readManifest(key: string) {
    const reader = await (await OpfsPackageStore.open()).reader(key);
    return new TextDecoder().decode(await reader.read('manifest.json'));
  },
  /** Names under OPFS (for checking that nothing half-written is left or listed). */
  async tree() {
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string, out: string[]) => {
      for await (const [name, h] of (
        dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
      ).entries()) {
        out.push(prefix + name + (h.kind === 'directory' ? '/' : ''));
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, `${prefix}${name}/`, out);
      }
      return out;
    };
    return walk(await navigator.storage.getDirectory(), '', []);
  },
  async clearAll() {
    const root = await navigator.storage.getDirectory();
    for await (const [name] of (
      root as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
    ).entries()) {
      await root.removeEntry(name, { recursive: true });
    }
  },
  async estimate() {
    const e = await navigator.storage.estimate();
    return { quota: e.quota ?? 0, usage: e.usage ?? 0 };
  },
};

(window as unknown as { hubTest: typeof api }).hubTest = api;
document.body.dataset.ready = '1';
