// A tiny static file server for the verifier page, bound to 127.0.0.1 on a free port.
// No dependencies: the browser tests must not need anything beyond playwright-core.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Serves `root`; resolves to { url, routes, close() }. `routes` maps a path (e.g.
 * "/node/v1/trust-root") to { status, body, type } answered instead of a file, so tests can stand
 * in for a node's API on the same loopback server.
 */
export async function serve(root) {
  const base = normalize(root + sep);
  const routes = new Map();
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const route = routes.get(path);
    if (route && req.method === "GET") {
      res.writeHead(route.status ?? 200, {
        "content-type": route.type ?? "application/json",
        "cache-control": "no-store",
      });
      res.end(route.body ?? "");
      return;
    }
    const file = normalize(join(base, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(base) || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    routes,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
