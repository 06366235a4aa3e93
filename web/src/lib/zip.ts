// ZIP archives for rootfs input and artifact output (docs/provider-internals.md §1, §1.1).
//
// readZip is our own central-directory reader because the rules need information that general
// ZIP libraries hide (Unix mode of the entry for symlinks, the encryption flag, ZIP64 fields);
// fflate does the inflating and writes artifact archives.
import { inflateSync, zipSync, type Zippable } from "fflate";
import { LIMITS } from "../gen/contract";

/** Default limit for the expanded size of a rootfs (the task's filesystem limit). */
export const DEFAULT_FS_LIMIT: number = LIMITS.fsLimitDefault;

/** A rootfs that violates the rules; the message becomes "rootfs: <message>". */
export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

export interface ZipEntry {
  /** Normalised relative path, no leading or trailing "/". */
  path: string;
  dir: boolean;
  /** Contents (files only; may be a view into the archive for stored entries). */
  data: Uint8Array;
  /** Modification time from the DOS timestamp (local time, as ZIP defines it). */
  mtime: Date;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function dosTime(date: number, time: number): Date {
  return new Date(
    1980 + (date >>> 9),
    ((date >>> 5) & 0xf) - 1,
    date & 0x1f,
    time >>> 11,
    (time >>> 5) & 0x3f,
    (time & 0x1f) * 2,
  );
}

/**
 * Checks and normalises an entry name: rejects NUL bytes, absolute names and ".." segments;
 * drops "." and empty segments. Returns the path and whether the name denotes a directory.
 */
export function checkEntryName(name: string): { path: string; dir: boolean } {
  if (name.includes("\0")) throw new ZipError(`entry name contains a NUL byte: ${JSON.stringify(name)}`);
  if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name)) throw new ZipError(`absolute entry name: ${name}`);
  const parts = name.split("/");
  if (parts.includes("..")) throw new ZipError(`entry name with "..": ${name}`);
  const dir = name.endsWith("/");
  const path = parts.filter((p) => p !== "" && p !== ".").join("/");
  return { path, dir };
}

/** Little-endian reads of an archive with bounds checks that throw ZipError. */
class ArchiveView {
  private readonly dv: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(o: number): number {
    return this.dv.getUint16(o, true);
  }

  u32(o: number): number {
    return this.dv.getUint32(o, true);
  }

  u64(o: number): number {
    const v = this.dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError("ZIP64 value too large");
    return Number(v);
  }

  need(o: number, n: number, what: string): void {
    if (o < 0 || o + n > this.bytes.length) throw new ZipError(`truncated archive (${what})`);
  }
}

/** Where the central directory is and how many entries it has (ZIP64 aware). */
function findCentralDirectory(r: ArchiveView): { count: number; cdSize: number; cdOffset: number } {
  const bytes = r.bytes;
  // End of central directory: last 22 bytes plus a comment of up to 65535 bytes.
  let eocd = -1;
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - 0xffff); o--) {
    if (r.u32(o) === 0x06054b50) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("not a ZIP archive (no end of central directory)");
  const count = r.u16(eocd + 10);
  const cdSize = r.u32(eocd + 12);
  const cdOffset = r.u32(eocd + 16);
  if (count !== 0xffff && cdSize !== 0xffffffff && cdOffset !== 0xffffffff) return { count, cdSize, cdOffset };
  const loc = eocd - 20;
  r.need(loc, 20, "ZIP64 locator");
  if (r.u32(loc) !== 0x07064b50) throw new ZipError("ZIP64 archive without locator");
  const z = r.u64(loc + 8);
  r.need(z, 56, "ZIP64 end of central directory");
  if (r.u32(z) !== 0x06064b50) throw new ZipError("bad ZIP64 end of central directory");
  return { count: r.u64(z + 32), cdSize: r.u64(z + 40), cdOffset: r.u64(z + 48) };
}

/** The fields of one central directory entry that readZip uses. */
interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  mtime: Date;
  crc: number;
  csize: number;
  usize: number;
  /** Offset of the local header. */
  local: number;
  /** Unix mode bits when the entry was made on Unix, else 0. */
  unixMode: number;
  /** Offset of the next central directory entry. */
  next: number;
}

/** Parses the central directory entry at `p`, with the ZIP64 extra field's sizes and offset. */
function readCentralEntry(r: ArchiveView, p: number, decoder: TextDecoder): CentralEntry {
  r.need(p, 46, "central directory entry");
  if (r.u32(p) !== 0x02014b50) throw new ZipError("bad central directory entry");
  const madeBy = r.u16(p + 4);
  let csize = r.u32(p + 20);
  let usize = r.u32(p + 24);
  const nameLen = r.u16(p + 28);
  const extraLen = r.u16(p + 30);
  const commentLen = r.u16(p + 32);
  const extAttr = r.u32(p + 38);
  let local = r.u32(p + 42);
  r.need(p + 46, nameLen + extraLen + commentLen, "central directory entry");
  const name = decoder.decode(r.bytes.subarray(p + 46, p + 46 + nameLen));
  // ZIP64 extended information: the 0xffffffff fields, in this order.
  for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
    const id = r.u16(e);
    const len = r.u16(e + 2);
    if (id === 0x0001) {
      let q = e + 4;
      if (usize === 0xffffffff) (usize = r.u64(q)), (q += 8);
      if (csize === 0xffffffff) (csize = r.u64(q)), (q += 8);
      if (local === 0xffffffff) local = r.u64(q);
    }
    e += 4 + len;
  }
  return {
    name,
    flags: r.u16(p + 8),
    method: r.u16(p + 10),
    mtime: dosTime(r.u16(p + 14), r.u16(p + 12)),
    crc: r.u32(p + 16),
    csize,
    usize,
    local,
    unixMode: madeBy >>> 8 === 3 ? extAttr >>> 16 : 0,
    next: p + 46 + nameLen + extraLen + commentLen,
  };
}

/** The contents of a file entry (stored or deflated), checked against its size and CRC. */
function entryData(r: ArchiveView, h: CentralEntry): Uint8Array {
  const { name, local, csize, usize } = h;
  r.need(local, 30, "local header");
  if (r.u32(local) !== 0x04034b50) throw new ZipError(`bad local header: ${name}`);
  const start = local + 30 + r.u16(local + 26) + r.u16(local + 28);
  r.need(start, csize, `data of ${name}`);
  const raw = r.bytes.subarray(start, start + csize);
  let data: Uint8Array;
  if (h.method === 0) {
    if (csize !== usize) throw new ZipError(`stored entry with inconsistent sizes: ${name}`);
    data = raw;
  } else {
    try {
      data = inflateSync(raw, { out: new Uint8Array(usize) });
    } catch (e) {
      throw new ZipError(`corrupt deflate data in ${name}: ${e instanceof Error ? e.message : e}`);
    }
    if (data.length !== usize) throw new ZipError(`size mismatch in ${name}`);
  }
  if (crc32(data) !== h.crc) throw new ZipError(`CRC mismatch in ${name}`);
  return data;
}

/**
 * Reads and validates a whole archive. Rejects (ZipError) encrypted entries, methods other than
 * stored/deflate, symlinks, bad names, CRC mismatches and archives whose expanded size exceeds
 * `limit`. Works with ZIP64 archives.
 */
export function readZip(bytes: Uint8Array, limit = DEFAULT_FS_LIMIT): ZipEntry[] {
  const r = new ArchiveView(bytes);
  const { count, cdSize, cdOffset } = findCentralDirectory(r);
  r.need(cdOffset, cdSize, "central directory");

  const decoder = new TextDecoder("utf-8");
  const entries: ZipEntry[] = [];
  let total = 0;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    const h = readCentralEntry(r, p, decoder);
    p = h.next;
    const { name, unixMode, mtime } = h;
    if (h.flags & 0x1) throw new ZipError(`encrypted entry: ${name}`);
    if ((unixMode & 0xf000) === 0xa000) throw new ZipError(`symlink entry: ${name}`);
    const { path, dir } = checkEntryName(name);
    if (dir || (unixMode & 0xf000) === 0x4000) {
      if (path !== "") entries.push({ path, dir: true, data: new Uint8Array(0), mtime });
      continue;
    }
    if (path === "") throw new ZipError(`entry without a name: ${JSON.stringify(name)}`);
    if (h.method !== 0 && h.method !== 8) throw new ZipError(`unsupported compression method ${h.method}: ${name}`);
    total += h.usize;
    if (total > limit) throw new ZipError(`expanded size exceeds the filesystem limit of ${limit} bytes`);
    entries.push({ path, dir: false, data: entryData(r, h), mtime });
  }
  return entries;
}

/** One artifact to archive: a file with contents or a directory (data ignored). */
export interface ArchiveEntry {
  path: string;
  dir: boolean;
  data?: Uint8Array;
  mtime?: Date;
}

/** Builds a deflate ZIP of `entries` (directories get a "name/" entry). */
export function writeZip(entries: ArchiveEntry[]): Uint8Array {
  const z: Zippable = {};
  for (const e of entries) {
    const opts = { mtime: e.mtime ?? new Date(), level: 6 as const };
    if (e.dir) z[e.path.replace(/\/?$/, "/")] = [new Uint8Array(0), opts];
    else z[e.path] = [e.data ?? new Uint8Array(0), opts];
  }
  return zipSync(z);
}

/**
 * Normalises an artifact path (docs/provider-internals.md §1: leading "/" stripped, "." and ".."
 * resolved); undefined when it would leave the tree. "" denotes the root itself.
 */
export function normalizeArtifactPath(path: string): string | undefined {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    if (seg.includes("\0")) return undefined;
    out.push(seg);
  }
  return out.join("/");
}
