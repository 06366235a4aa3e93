import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FetchError, FileStore, MemoryBackend, storageFetcher } from "../src/lib/filestore";
import { refOf } from "../src/lib/sha256";
import { wasm } from "./helpers";

const HELLO_REF = "sha256:d30064518ea7d977b0247647450b4f9c84ec151b15d7a9d6f7a608789bda5fd3";

// A stand-in for the Broker's /api/storage/<ref> on 127.0.0.1.
let server: Server;
let origin = "";
const seen: { url: string; auth?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", auth: req.headers.authorization });
    const ref = decodeURIComponent((req.url ?? "").replace("/api/storage/", ""));
    if (ref === HELLO_REF) {
      res.writeHead(200, { "content-type": "application/wasm", "x-wasimoff-ref": HELLO_REF });
      res.end(Buffer.from(wasm("hello")));
    } else if (ref === "sha256:" + "a".repeat(64)) {
      res.writeHead(200); // wrong content for this ref
      res.end("tampered");
    } else if (ref === "hello.wasm") {
      res.writeHead(200, { "x-wasimoff-ref": HELLO_REF });
      res.end(Buffer.from(wasm("hello")));
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("storageFetcher (provider.md §2)", () => {
  it("downloads and verifies a ref, sending the provider token", async () => {
    const data = await storageFetcher(origin, "tok")(HELLO_REF);
    expect(await refOf(data)).toBe(HELLO_REF);
    expect(seen.at(-1)).toEqual({ url: `/api/storage/${HELLO_REF}`, auth: "Bearer tok" });
  });

  it("rejects content that does not match the ref, and non-200 answers", async () => {
    await expect(storageFetcher(origin, undefined)("sha256:" + "a".repeat(64))).rejects.toThrow(/does not match/);
    await expect(storageFetcher(origin, undefined)("sha256:" + "b".repeat(64))).rejects.toBeInstanceOf(FetchError);
    await expect(storageFetcher(origin, undefined)("sha256:" + "b".repeat(64))).rejects.toThrow(/status 404/);
  });

  it("verifies names through the x-wasimoff-ref header", async () => {
    expect(await refOf(await storageFetcher(origin, undefined)("hello.wasm"))).toBe(HELLO_REF);
  });
});

describe("FileStore", () => {
  it("evicts least recently used files beyond the cap and reports them", async () => {
    const added: string[] = [];
    const removed: string[] = [];
    const store = new FileStore(new MemoryBackend(), 1000, { added: (r) => added.push(...r), removed: (r) => removed.push(...r) });
    const a = await store.put(new Uint8Array(400).fill(1));
    const b = await store.put(new Uint8Array(400).fill(2));
    await store.get(a); // a is now more recent than b
    const c = await store.put(new Uint8Array(400).fill(3));
    expect(added).toEqual([a, b, c]);
    expect(removed).toEqual([b]);
    expect(store.refs().sort()).toEqual([a, c].sort());
    expect(store.bytes).toBe(800);
    expect(await store.get(b)).toBeUndefined();
  });

  it("use() marks a held file as recently used without reading it", async () => {
    const removed: string[] = [];
    const backend = new MemoryBackend();
    const store = new FileStore(backend, 1000, { added: () => {}, removed: (r) => removed.push(...r) });
    const a = await store.put(new Uint8Array(400).fill(1));
    const b = await store.put(new Uint8Array(400).fill(2));
    const reads = vi.spyOn(backend, "read");
    expect(store.use(a.toUpperCase().replace("SHA256:", "sha256:"))).toBe(true); // a is now more recent than b
    expect(store.use("sha256:" + "0".repeat(64))).toBe(false);
    expect(store.use("not a ref")).toBe(false);
    await store.put(new Uint8Array(400).fill(3));
    expect(removed).toEqual([b]);
    expect(store.use(b)).toBe(false);
    expect(reads).not.toHaveBeenCalled();
  });

  it("rejects uploads whose claimed ref does not match", async () => {
    const store = new FileStore(new MemoryBackend(), 1 << 20, { added: () => {}, removed: () => {} });
    await expect(store.put(wasm("hello"), "sha256:" + "c".repeat(64))).rejects.toThrow("hash mismatch");
    expect(await store.put(wasm("hello"), HELLO_REF)).toBe(HELLO_REF);
  });
});
