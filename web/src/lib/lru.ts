// A small LRU map with an entry limit and a time-to-live, used for compiled WebAssembly.Modules
// (64 entries, 30 minutes; docs/provider-internals.md §4). Not size-aware: entries are similar in
// cost.

export class LruCache<K, V> {
  private map = new Map<K, { value: V; expires: number }>();

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    // Move to the most-recently-used end and extend its lifetime.
    this.map.delete(key);
    e.expires = this.now() + this.ttlMs;
    this.map.set(key, e);
    return e.value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, expires: this.now() + this.ttlMs });
    this.prune();
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Drops expired entries and the least recently used ones beyond the limit. */
  prune(): void {
    const t = this.now();
    for (const [k, e] of this.map) if (e.expires <= t) this.map.delete(k);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }
}
