/**
 * A least-recently-used map bounded by the total byte size its entries declare.
 *
 * Recency is an intrusive doubly linked list of one node per key, and a hit or an update moves
 * or rewrites that node in place. The caches built on it (window cache, quotas, per-session
 * state) are touched on every turn of every session and their entries live for seconds, so they
 * sit in V8's old generation: re-inserting into the Map on each access (the simple way to keep a
 * Map in recency order) left a deleted slot each time, made the Map rehash into a new table every
 * few thousand accesses and allocated a fresh `{ value, bytes }` record and key per write, all of
 * which was promoted by the young-generation GC and died in old space. Here a hit allocates
 * nothing and an update of an existing key only stores the new value.
 */
interface LruNode<V> {
  readonly key: string;
  value: V;
  bytes: number;
  /** Towards the most recently used end (the sentinel after the newest). */
  newer: LruNode<V>;
  /** Towards the least recently used end (the sentinel before the oldest). */
  older: LruNode<V>;
}

export class ByteLru<V> {
  readonly #maxBytes: number;
  readonly #nodes = new Map<string, LruNode<V>>();
  /** Sentinel of the circular recency list: `newer` is the oldest node, `older` the newest. */
  readonly #ring: LruNode<V>;
  #bytes = 0;

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be a non-negative integer (got ${maxBytes}).`);
    }
    this.#maxBytes = maxBytes;
    const ring = { key: "", value: undefined as V, bytes: 0 } as LruNode<V>;
    ring.newer = ring;
    ring.older = ring;
    this.#ring = ring;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** The value, marked most recently used. */
  get(key: string): V | undefined {
    const node = this.#nodes.get(key);
    if (!node) return undefined;
    this.#toNewest(node);
    return node.value;
  }

  /**
   * Stores `value` under `key` as the most recently used entry (in place when the key is there),
   * then evicts the least recently used entries until the total fits. An entry larger than the
   * whole budget is not kept (and replaces nothing: the key is dropped).
   */
  set(key: string, value: V, bytes: number): void {
    const node = this.#nodes.get(key);
    if (bytes > this.#maxBytes) {
      if (node) this.#remove(node);
      return;
    }
    if (node) {
      this.#bytes += bytes - node.bytes;
      node.value = value;
      node.bytes = bytes;
      this.#toNewest(node);
    } else {
      const ring = this.#ring;
      const added: LruNode<V> = { key, value, bytes, newer: ring, older: ring.older };
      ring.older.newer = added;
      ring.older = added;
      this.#nodes.set(key, added);
      this.#bytes += bytes;
    }
    while (this.#bytes > this.#maxBytes) this.#remove(this.#ring.newer);
  }

  delete(key: string): void {
    const node = this.#nodes.get(key);
    if (node) this.#remove(node);
  }

  /** Drops every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): void {
    for (const node of [...this.#nodes.values()]) if (node.key.startsWith(prefix)) this.#remove(node);
  }

  #toNewest(node: LruNode<V>): void {
    const ring = this.#ring;
    if (ring.older === node) return;
    node.older.newer = node.newer;
    node.newer.older = node.older;
    node.older = ring.older;
    node.newer = ring;
    ring.older.newer = node;
    ring.older = node;
  }

  #remove(node: LruNode<V>): void {
    node.older.newer = node.newer;
    node.newer.older = node.older;
    this.#nodes.delete(node.key);
    this.#bytes -= node.bytes;
  }
}
