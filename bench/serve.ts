/**
 * The browser bench's pages, built and served the way the app ships: `vite build` of the bench
 * pages (bench/page/*.html, the app's worker engine bundled as in production) into a git-ignored
 * folder, then a plain static server over it. Not the Vite dev server: its on-demand dependency
 * optimisation reloads the page mid-run ("Execution context was destroyed"), and dev transforms
 * are not what a user runs. The server sends COOP/COEP so the page is cross-origin isolated and
 * ORT's wasm may use threads (ortEnv.ts uses one thread otherwise), for us and the peer alike.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.css': 'text/css',
  '.jinja': 'text/plain',
};

export async function buildBenchPages(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: resolve('.'),
    logLevel: 'warn',
    publicDir: false,
    worker: { format: 'es' },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    build: {
      target: 'es2022',
      outDir,
      emptyOutDir: true,
      chunkSizeWarningLimit: 1 << 16,
      rollupOptions: { input: { bench: resolve('bench/page/index.html'), peer: resolve('bench/page/peer.html') } },
    },
  });
}

export interface BenchServer {
  base: string;
  close(): Promise<void>;
}

/** Serves `mounts` (URL prefix → folder), the first match wins; 404 otherwise. */
export async function serveFolders(mounts: Record<string, string>, isolate = false): Promise<BenchServer> {
  const roots = Object.entries(mounts).map(([prefix, dir]) => [prefix, resolve(dir)] as const);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    for (const [prefix, root] of roots) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(root, path.slice(prefix.length)));
      if (!(file === root || file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) continue;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': String(statSync(file).size),
        ...(isolate
          ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
          : {}),
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
