/**
 * A bounded in-process cache of decrypted item bodies (as JSON text), so hot windows are not
 * re-decrypted on every turn. An entry is found by reading session and item id and used only when
 * the stored blob is byte-for-byte the one that was decrypted: a blob moved to another item or session never hits, so the no-swap guarantee holds;
 * any change of the stored bytes is a miss. Evicts whole sessions, least recently used first,
 * past a byte budget; deleting a session drops its entries.
 */

export interface PlaintextCacheOptions {
  /** Approximate budget in bytes (default 64 MiB; 0 disables the cache). */
  maxBytes?: number;
}

export interface CachedText {
  readonly blob: string;
  readonly text: string;
}

export class PlaintextCache {
  readonly #maxBytes: number;
  readonly #sessions = new Map<string, { entries: Map<string, CachedText>; bytes: number }>();
  #bytes = 0;

  constructor(options: PlaintextCacheOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 64 << 20;
  }

  #sessionKey(tenant: string, sessionId: string): string {
    return `${tenant}\u0000${sessionId}`;
  }

  /**
   * One session's entries (item id → stored blob and its plaintext), marked recently used; the
   * caller must compare the blob before using a text. Undefined when nothing is cached.
   */
  session(tenant: string, sessionId: string): ReadonlyMap<string, CachedText> | undefined {
    const key = this.#sessionKey(tenant, sessionId);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    if (this.#sessions.size > 1) {
      this.#sessions.delete(key);
      this.#sessions.set(key, session);
    }
    return session.entries;
  }

  get(tenant: string, sessionId: string, itemId: string, blob: string): string | undefined {
    const hit = this.session(tenant, sessionId)?.get(itemId);
    // The exact stored blob must match: any other bytes under this item id are a miss.
    return hit === undefined || hit.blob !== blob ? undefined : hit.text;
  }

  set(tenant: string, sessionId: string, itemId: string, blob: string, plaintext: string): void {
    if (this.#maxBytes === 0) return;
    const key = this.#sessionKey(tenant, sessionId);
    let session = this.#sessions.get(key);
    if (!session) {
      session = { entries: new Map(), bytes: 0 };
      this.#sessions.set(key, session);
    }
    const previous = session.entries.get(itemId);
    if (previous?.blob === blob) return;
    // UTF-16 strings: two bytes per code unit, for the id, the blob and the text.
    const bytes = 2 * (itemId.length + blob.length + plaintext.length) + 96;
    if (previous) {
      const old = 2 * (itemId.length + previous.blob.length + previous.text.length) + 96;
      session.bytes -= old;
      this.#bytes -= old;
    }
    session.entries.set(itemId, { blob, text: plaintext });
    session.bytes += bytes;
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes && this.#sessions.size > 0) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#dropKey(oldest);
    }
  }

  dropItem(tenant: string, sessionId: string, itemId: string): void {
    const session = this.#sessions.get(this.#sessionKey(tenant, sessionId));
    const entry = session?.entries.get(itemId);
    if (!session || !entry) return;
    const bytes = 2 * (itemId.length + entry.blob.length + entry.text.length) + 96;
    session.entries.delete(itemId);
    session.bytes -= bytes;
    this.#bytes -= bytes;
  }

  drop(tenant: string, sessionId: string): void {
    this.#dropKey(this.#sessionKey(tenant, sessionId));
  }

  #dropKey(key: string): void {
    const session = this.#sessions.get(key);
    if (!session) return;
    this.#bytes -= session.bytes;
    this.#sessions.delete(key);
  }
}
