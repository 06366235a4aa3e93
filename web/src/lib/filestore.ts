// The provider's file cache (docs/provider-internals.md §2, §4 "Storage"): files keyed by their
// sha256 ref, kept in OPFS (directory "wasm", one file per ref named by its 64 hex digits) where
// available, else in memory. LRU eviction under a byte cap; additions and evictions are reported so
// the provider can send Event.FileSystemUpdate. Concurrent requests for the same missing ref share
// one download.
import { normalizeRef, refOf } from "./sha256";
import { PATHS } from "../gen/contract";

export interface StorageBackend {
  readonly name: string;
  /** Stored refs with their sizes (used once at start-up). */
  list(): Promise<{ ref: string; size: number }[]>;
  read(ref: string): Promise<Uint8Array | undefined>;
  write(ref: string, data: Uint8Array): Promise<void>;
  remove(ref: string): Promise<void>;
}

export class MemoryBackend implements StorageBackend {
  readonly name = "memory";
  private files = new Map<string, Uint8Array>();
  async list() {
    return [...this.files].map(([ref, d]) => ({ ref, size: d.length }));
  }
  async read(ref: string) {
    return this.files.get(ref);
  }
  async write(ref: string, data: Uint8Array) {
    this.files.set(ref, data);
  }
  async remove(ref: string) {
    this.files.delete(ref);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

export class OpfsBackend implements StorageBackend {
  readonly name = "OPFS";
  private constructor(private readonly dir: FileSystemDirectoryHandle) {}

  /** Opens the OPFS directory "wasm"; undefined when OPFS is unavailable (e.g. insecure context). */
  static async open(): Promise<OpfsBackend | undefined> {
    try {
      if (!globalThis.isSecureContext || !navigator.storage?.getDirectory) return undefined;
      const root = await navigator.storage.getDirectory();
      return new OpfsBackend(await root.getDirectoryHandle("wasm", { create: true }));
    } catch {
      return undefined;
    }
  }

  async list() {
    const out: { ref: string; size: number }[] = [];
    // entries() is not in every TypeScript DOM lib yet.
    const it = (this.dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
    for await (const [name, handle] of it) {
      if (handle.kind !== "file") continue;
      if (!HEX64.test(name)) {
        await this.dir.removeEntry(name).catch(() => {}); // leftovers of an interrupted write
        continue;
      }
      const f = await (handle as FileSystemFileHandle).getFile();
      out.push({ ref: "sha256:" + name, size: f.size });
    }
    return out;
  }

  async read(ref: string) {
    try {
      const h = await this.dir.getFileHandle(ref.slice(7));
      return new Uint8Array(await (await h.getFile()).arrayBuffer());
    } catch {
      return undefined;
    }
  }

  async write(ref: string, data: Uint8Array) {
    // createWritable writes to a swap file that replaces the entry atomically on close().
    const h = await this.dir.getFileHandle(ref.slice(7), { create: true });
    const w = await h.createWritable();
    try {
      await w.write(data as Uint8Array<ArrayBuffer>);
      await w.close();
    } catch (e) {
      await w.abort().catch(() => {});
      throw e;
    }
  }

  async remove(ref: string) {
    await this.dir.removeEntry(ref.slice(7)).catch(() => {});
  }
}

export interface FileStoreEvents {
  added(refs: string[]): void;
  removed(refs: string[]): void;
}

/** Downloads a ref; resolves with the verified bytes or rejects with a reason. */
export type Fetcher = (ref: string) => Promise<Uint8Array>;

/** A fetch failure or content mismatch; message is the reason for logs. */
export class FetchError extends Error {}

/** put(): the data does not match the claimed sha256 ref. */
export class HashMismatchError extends Error {
  constructor() {
    super("hash mismatch");
    this.name = "HashMismatchError";
  }
}

/**
 * Fetches `<broker>/api/storage/<ref>` (docs/provider-internals.md §2): status 200 required, the
 * body's SHA-256 must equal the ref and the x-wasimoff-ref header if present. Bounded by
 * `timeoutMs`.
 */
export function storageFetcher(broker: string, token: string | undefined, timeoutMs = 120_000): Fetcher {
  return async (ref: string) => {
    // Keep the ":" of "sha256:<hex>" literal (it is valid in a path segment); escape the rest.
    const url = `${broker}${PATHS.storage}${encodeURIComponent(ref).replace(/%3A/gi, ":")}`;
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), cache: "no-store" });
    } catch (e) {
      throw new FetchError(`GET ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status !== 200) throw new FetchError(`GET ${url}: status ${res.status}`);
    const data = new Uint8Array(await res.arrayBuffer());
    const got = await refOf(data);
    const header = res.headers.get("x-wasimoff-ref");
    if (header && normalizeRef(header) !== got) throw new FetchError(`GET ${url}: x-wasimoff-ref ${header} does not match the content ${got}`);
    const want = normalizeRef(ref);
    if (want !== undefined && want !== got) throw new FetchError(`GET ${url}: content hash ${got} does not match`);
    if (want === undefined && !header) throw new FetchError(`GET ${url}: cannot verify a non-sha256 ref without x-wasimoff-ref`);
    return data;
  };
}

export class FileStore {
  /** ref → size, in LRU order (first = least recently used). */
  private index = new Map<string, number>();
  private total = 0;
  private inflight = new Map<string, Promise<{ ref: string; data: Uint8Array }>>();

  constructor(
    readonly backend: StorageBackend,
    readonly capBytes: number,
    private readonly events: FileStoreEvents,
  ) {}

  /** Loads the backend's listing (OPFS survives page reloads). */
  async init(): Promise<void> {
    for (const { ref, size } of await this.backend.list()) {
      this.index.set(ref, size);
      this.total += size;
    }
    this.evict();
  }

  refs(): string[] {
    return [...this.index.keys()];
  }

  get bytes(): number {
    return this.total;
  }

  has(ref: string): boolean {
    const r = normalizeRef(ref);
    return r !== undefined && this.index.has(r);
  }

  /**
   * Marks a held file as recently used without reading it (its compiled module is cached);
   * false when the file is not held.
   */
  use(ref: string): boolean {
    const r = normalizeRef(ref);
    if (r === undefined || !this.index.has(r)) return false;
    this.touch(r);
    return true;
  }

  /** The stored bytes, or undefined. Marks the ref as recently used. */
  async get(ref: string): Promise<Uint8Array | undefined> {
    const r = normalizeRef(ref);
    if (r === undefined || !this.index.has(r)) return undefined;
    const data = await this.backend.read(r);
    if (!data) {
      this.drop(r);
      return undefined;
    }
    this.touch(r);
    return data;
  }

  /**
   * Stores `data` under its computed ref; if `claimed` is a sha256 ref it must match (else
   * HashMismatchError, "hash mismatch"). Returns the ref. Emits `added` when the ref is new.
   */
  async put(data: Uint8Array, claimed?: string): Promise<string> {
    const ref = await refOf(data);
    if (claimed !== undefined) {
      const c = normalizeRef(claimed);
      if (c !== undefined && c !== ref) throw new HashMismatchError();
    }
    await this.store(ref, data);
    return ref;
  }

  /**
   * The file for `ref`: from the cache, or downloaded with `fetcher` (single-flight per ref) and
   * stored. Rejects when the download fails or does not verify.
   */
  async obtain(ref: string, fetcher: Fetcher): Promise<{ ref: string; data: Uint8Array }> {
    const r = normalizeRef(ref) ?? ref;
    const cached = await this.get(r);
    if (cached) return { ref: r, data: cached };
    let p = this.inflight.get(r);
    if (!p) {
      p = (async () => {
        const data = await fetcher(r);
        const stored = await refOf(data);
        await this.store(stored, data);
        return { ref: stored, data };
      })().finally(() => this.inflight.delete(r));
      this.inflight.set(r, p);
    }
    return p;
  }

  private async store(ref: string, data: Uint8Array): Promise<void> {
    if (this.index.has(ref)) {
      this.touch(ref);
      return;
    }
    if (data.length > this.capBytes) return; // larger than the whole cache: use, do not keep
    await this.backend.write(ref, data);
    this.index.set(ref, data.length);
    this.total += data.length;
    this.events.added([ref]);
    this.evict(ref);
  }

  private touch(ref: string): void {
    const size = this.index.get(ref);
    if (size === undefined) return;
    this.index.delete(ref);
    this.index.set(ref, size);
  }

  private drop(ref: string): void {
    const size = this.index.get(ref);
    if (size === undefined) return;
    this.index.delete(ref);
    this.total -= size;
    this.events.removed([ref]);
  }

  private evict(keep?: string): void {
    const removed: string[] = [];
    for (const [ref, size] of this.index) {
      if (this.total <= this.capBytes) break;
      if (ref === keep) continue;
      this.index.delete(ref);
      this.total -= size;
      removed.push(ref);
      void this.backend.remove(ref);
    }
    if (removed.length > 0) this.events.removed(removed);
  }
}
