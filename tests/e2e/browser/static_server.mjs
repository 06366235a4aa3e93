// A tiny static file server for browser tests, with the headers the Broker's static handler sends
// (docs/http-api.md §9): COOP/COEP make the page cross-origin isolated (SharedArrayBuffer for the
// workers' Atomics.wait), plus CORP and nosniff. Listens on 127.0.0.1 only.
//
//   const srv = await startStaticServer({ root: "/path/to/dist", handler });
//   srv.url  → "http://127.0.0.1:<port>"
//   handler(req, res) may answer a request itself (return true), e.g. a fake Broker API.
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";

export const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
};

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

function send(res, status, text) {
  res.writeHead(status, { ...ISOLATION_HEADERS, "Content-Type": "text/plain; charset=utf-8" });
  res.end(text);
}

export async function startStaticServer({ root, handler, port = 0 }) {
  const base = await realpath(resolve(root));
  const server = createServer(async (req, res) => {
    try {
      if (handler && (await handler(req, res))) return;
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed");
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path.includes("\0") || path.split("/").includes("..")) return send(res, 400, "bad path");
      let file = join(base, path);
      let st = await stat(file).catch(() => undefined);
      if (st?.isDirectory()) {
        file = join(file, "index.html");
        st = await stat(file).catch(() => undefined);
      }
      if (!st?.isFile()) return send(res, 404, "not found");
      const real = await realpath(file);
      if (real !== base && !real.startsWith(base + sep)) return send(res, 404, "not found");
      res.writeHead(200, {
        ...ISOLATION_HEADERS,
        "Content-Type": MIME[extname(file)] ?? "application/octet-stream",
        "Content-Length": st.size,
        "Cache-Control": "no-cache",
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(file).pipe(res);
    } catch (e) {
      send(res, 500, String(e));
    }
  });
  // Bound idle connections so the test process can always exit.
  server.keepAliveTimeout = 2000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise((r, j) => server.listen(port, "127.0.0.1", r).once("error", j));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    server,
    url,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}
