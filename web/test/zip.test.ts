import { unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { ZipError, checkEntryName, crc32, normalizeArtifactPath, readZip, writeZip } from "../src/lib/zip";

const enc = (s: string) => new TextEncoder().encode(s);

interface RawEntry {
  name: string;
  data?: Uint8Array;
  method?: number;
  flags?: number;
  madeBy?: number;
  extAttr?: number;
  crc?: number;
}

/** Hand-made archive (stored data) so tests control every header field; optional ZIP64 records. */
function rawZip(entries: RawEntry[], zip64 = false): Uint8Array {
  const parts: number[] = [];
  const central: number[] = [];
  const u16 = (a: number[], v: number) => a.push(v & 0xff, (v >>> 8) & 0xff);
  const u32 = (a: number[], v: number) => a.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (a: number[], v: number) => (u32(a, v >>> 0), u32(a, Math.floor(v / 2 ** 32)));
  for (const e of entries) {
    const name = enc(e.name);
    const data = e.data ?? new Uint8Array(0);
    const crc = e.crc ?? crc32(data);
    const offset = parts.length;
    u32(parts, 0x04034b50); u16(parts, 20); u16(parts, e.flags ?? 0); u16(parts, e.method ?? 0);
    u16(parts, 0); u16(parts, 0x5821); u32(parts, crc); u32(parts, data.length); u32(parts, data.length);
    u16(parts, name.length); u16(parts, 0); parts.push(...name, ...data);
    const extra: number[] = [];
    if (zip64) { u16(extra, 1); u16(extra, 24); u64(extra, data.length); u64(extra, data.length); u64(extra, offset); }
    u32(central, 0x02014b50); u16(central, e.madeBy ?? 0x031e); u16(central, zip64 ? 45 : 20);
    u16(central, e.flags ?? 0); u16(central, e.method ?? 0); u16(central, 0); u16(central, 0x5821); u32(central, crc);
    u32(central, zip64 ? 0xffffffff : data.length); u32(central, zip64 ? 0xffffffff : data.length);
    u16(central, name.length); u16(central, extra.length); u16(central, 0); u16(central, 0); u16(central, 0);
    u32(central, e.extAttr ?? 0); u32(central, zip64 ? 0xffffffff : offset); central.push(...name, ...extra);
  }
  const cdOffset = parts.length;
  parts.push(...central);
  if (zip64) {
    const z = parts.length;
    u32(parts, 0x06064b50); u64(parts, 44); u16(parts, 45); u16(parts, 45); u32(parts, 0); u32(parts, 0);
    u64(parts, entries.length); u64(parts, entries.length); u64(parts, central.length); u64(parts, cdOffset);
    u32(parts, 0x07064b50); u32(parts, 0); u64(parts, z); u32(parts, 1);
  }
  u32(parts, 0x06054b50); u16(parts, 0); u16(parts, 0);
  u16(parts, zip64 ? 0xffff : entries.length); u16(parts, zip64 ? 0xffff : entries.length);
  u32(parts, zip64 ? 0xffffffff : central.length); u32(parts, zip64 ? 0xffffffff : cdOffset); u16(parts, 0);
  return new Uint8Array(parts);
}

function rejects(zip: Uint8Array, pattern: RegExp, limit?: number) {
  let err: unknown;
  try {
    readZip(zip, limit);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ZipError);
  expect((err as Error).message).toMatch(pattern);
}

describe("readZip (provider.md §1.1)", () => {
  it("reads stored and deflated entries with implicit directories and DOS times", () => {
    const mtime = new Date(2024, 4, 17, 13, 37, 42);
    const zip = zipSync({
      "a.txt": [enc("stored"), { level: 0, mtime }],
      "dir/b.txt": [enc("deflated ".repeat(100)), { level: 9, mtime }],
      "empty/": [new Uint8Array(0), {}],
    });
    const entries = readZip(zip);
    const byPath = Object.fromEntries(entries.map((e) => [e.path, e]));
    expect(new TextDecoder().decode(byPath["a.txt"].data)).toBe("stored");
    expect(new TextDecoder().decode(byPath["dir/b.txt"].data)).toBe("deflated ".repeat(100));
    expect(byPath["empty"].dir).toBe(true);
    expect(byPath["a.txt"].mtime.getTime()).toBe(mtime.getTime());
  });

  it("reads ZIP64 archives", () => {
    const entries = readZip(rawZip([{ name: "x/y.txt", data: enc("zip64!") }], true));
    expect(entries).toHaveLength(1);
    expect(entries[0].path).toBe("x/y.txt");
    expect(new TextDecoder().decode(entries[0].data)).toBe("zip64!");
  });

  it("rejects absolute names, .. segments and NUL bytes", () => {
    rejects(rawZip([{ name: "/etc/passwd", data: enc("x") }]), /absolute/);
    rejects(rawZip([{ name: "a/../../b", data: enc("x") }]), /\.\./);
    rejects(rawZip([{ name: "a\0b", data: enc("x") }]), /NUL/);
  });

  it("rejects symlinks, encrypted entries and other compression methods", () => {
    rejects(rawZip([{ name: "link", data: enc("/etc"), madeBy: 0x0314, extAttr: (0o120777 << 16) >>> 0 }]), /symlink/);
    rejects(rawZip([{ name: "secret", data: enc("x"), flags: 1 }]), /encrypted/);
    rejects(rawZip([{ name: "bz", data: enc("x"), method: 12 }]), /compression method 12/);
  });

  it("accepts a regular file whose Unix mode is 0644", () => {
    const e = readZip(rawZip([{ name: "ok", data: enc("fine"), madeBy: 0x0314, extAttr: (0o100644 << 16) >>> 0 }]));
    expect(e[0].path).toBe("ok");
  });

  it("rejects corrupt data and archives over the filesystem limit", () => {
    rejects(rawZip([{ name: "f", data: enc("abc"), crc: 1 }]), /CRC/);
    rejects(rawZip([{ name: "f", data: new Uint8Array(2000) }]), /limit/, 1000);
    rejects(enc("this is not a zip file at all, just text"), /not a ZIP/);
  });

  it("normalises entry names", () => {
    expect(checkEntryName("./a//b/")).toEqual({ path: "a/b", dir: true });
    expect(checkEntryName("c.txt")).toEqual({ path: "c.txt", dir: false });
  });
});

describe("artifacts", () => {
  it("normalises requested paths and refuses to leave the tree", () => {
    expect(normalizeArtifactPath("/out/./x.txt")).toBe("out/x.txt");
    expect(normalizeArtifactPath("out/../y")).toBe("y");
    expect(normalizeArtifactPath("/")).toBe("");
    expect(normalizeArtifactPath("../etc")).toBeUndefined();
  });

  it("writes a ZIP that standard readers (fflate and ours) understand", () => {
    const zip = writeZip([
      { path: "out", dir: true },
      { path: "out/r.txt", dir: false, data: enc("result") },
    ]);
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(["out/", "out/r.txt"]);
    expect(new TextDecoder().decode(files["out/r.txt"])).toBe("result");
    expect(readZip(zip).map((e) => e.path)).toEqual(["out", "out/r.txt"]);
  });
});
