import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Backoff } from "../src/lib/backoff";
import { LruCache } from "../src/lib/lru";
import { normalizeRef, refOf, sha256Js, toHex } from "../src/lib/sha256";
import { parseCertHash } from "../src/lib/webtransport_transport";
import { wasm } from "./helpers";

describe("SHA-256", () => {
  it("JavaScript fallback matches Node's crypto on edge lengths", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);
      expect(toHex(sha256Js(data))).toBe(createHash("sha256").update(data).digest("hex"));
    }
  });

  it("computes the reference module's ref (provider.md §6)", async () => {
    expect(await refOf(wasm("hello"))).toBe("sha256:d30064518ea7d977b0247647450b4f9c84ec151b15d7a9d6f7a608789bda5fd3");
  });

  it("normalises refs", () => {
    expect(normalizeRef("sha256:" + "AB".repeat(32))).toBe("sha256:" + "ab".repeat(32));
    expect(normalizeRef("hello.wasm")).toBeUndefined();
    expect(normalizeRef("sha256:123")).toBeUndefined();
  });

  it("parses a certhash into 32 bytes", () => {
    expect(Array.from(parseCertHash("00ff".repeat(16)).subarray(0, 2))).toEqual([0, 255]);
    expect(() => parseCertHash("abc")).toThrow(/64 hex/);
  });
});

describe("LruCache", () => {
  it("evicts the least recently used entry beyond the limit", () => {
    const c = new LruCache<string, number>(2, 1000);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // a is now newer than b
    c.set("c", 3);
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe(1);
    expect(c.get("c")).toBe(3);
  });

  it("expires entries after the TTL", () => {
    let now = 0;
    const c = new LruCache<string, number>(64, 30 * 60_000, () => now);
    c.set("m", 1);
    now = 29 * 60_000;
    expect(c.get("m")).toBe(1); // use extends the lifetime
    now = 58 * 60_000;
    expect(c.get("m")).toBe(1);
    now = 89 * 60_000;
    expect(c.get("m")).toBeUndefined();
  });
});

describe("Backoff", () => {
  it("doubles from 1 s to 30 s and resets after a long connection", () => {
    const b = new Backoff(1000, 30_000, () => 0.5); // no jitter
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next())).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    b.connectionEnded(5_000);
    expect(b.next()).toBe(30000);
    b.connectionEnded(60_000);
    expect(b.next()).toBe(1000);
  });

  it("jitters by at most 20 %", () => {
    const lo = new Backoff(1000, 30_000, () => 0);
    const hi = new Backoff(1000, 30_000, () => 0.999);
    expect(lo.next()).toBe(800);
    expect(hi.next()).toBeLessThanOrEqual(1200);
  });
});
