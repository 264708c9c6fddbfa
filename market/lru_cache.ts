/**
 * A size-bounded least-recently-used map, used by the server to keep recently loaded bar
 * series in memory on top of the on-disk (or KV) cache.
 *
 * @module
 */

/** Options of `LruCache`. */
export interface LruCacheOptions<V> {
  /** Most entries kept. @default 32 */
  maxEntries?: number;
  /** Most total size kept, as measured by `sizeOf`. @default Infinity */
  maxSize?: number;
  /** Size of one value (e.g. bytes). @default () => 1 */
  sizeOf?: (value: V) => number;
}

/** Least-recently-used map with entry and size limits (a Map keeps insertion order). */
export class LruCache<V> {
  readonly #map = new Map<string, { value: V; size: number }>();
  readonly #maxEntries: number;
  readonly #maxSize: number;
  readonly #sizeOf: (value: V) => number;
  #size = 0;

  constructor(opts: LruCacheOptions<V> = {}) {
    this.#maxEntries = opts.maxEntries ?? 32;
    this.#maxSize = opts.maxSize ?? Infinity;
    this.#sizeOf = opts.sizeOf ?? (() => 1);
  }

  /** Number of entries. */
  get count(): number {
    return this.#map.size;
  }

  /** Total size of the entries. */
  get size(): number {
    return this.#size;
  }

  /** The value for `key` (marking it most recently used), or undefined. */
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** Stores `value`, evicting the least recently used entries beyond the limits. A value
   * larger than `maxSize` on its own is not stored. */
  set(key: string, value: V): void {
    this.delete(key);
    const size = this.#sizeOf(value);
    if (size > this.#maxSize) return;
    this.#map.set(key, { value, size });
    this.#size += size;
    while (this.#map.size > this.#maxEntries || this.#size > this.#maxSize) {
      const oldest = this.#map.keys().next().value as string;
      this.delete(oldest);
    }
  }

  /** Removes `key`; true when it was present. */
  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#map.delete(key);
    this.#size -= e.size;
    return true;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.#map.keys()];
  }

  /** Removes everything. */
  clear(): void {
    this.#map.clear();
    this.#size = 0;
  }
}
