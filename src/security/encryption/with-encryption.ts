/**
 * `withEncryption(store, { keyring })`: a SessionStore decorator adding envelope encryption at
 * rest. Each session gets its own AES-256-GCM data key, wrapped by the keyring's active master
 * key and kept in system records; item bodies and session state are sealed before they reach
 * the inner store and opened after. Token counts are taken on the plaintext (passed explicitly
 * to the inner append), so windows and budgets work unchanged. Deleting a session destroys its
 * data key (crypto-shredding): copies in backups become unreadable.
 */

import { randomBytes } from "node:crypto";
import { readHead } from "../../store/decorators/delegating-store.ts";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import { newSessionId } from "../../store/ids.ts";
import { mergeStateWithRetry } from "../../store/merge-patch.ts";
import { estimateTokens, type TokenCounter } from "../../store/tokens.ts";
import type {
  AppendOptions,
  AppendResult,
  CreateSessionInput,
  ForkInput,
  Item,
  ItemInput,
  JsonValue,
  ListQuery,
  Page,
  ReadItemsQuery,
  Session,
  SessionHeadInfo,
  SessionStore,
  UpdateSessionInput,
  Window,
  WindowQuery,
  WriteOptions,
} from "../../store/types.ts";
import {
  checkExcludeTypes,
  checkJson,
  checkJsonObject,
  checkSessionId,
  checkTenant,
  checkVersion,
  isPlainObject,
} from "../../store/validate.ts";
import { DecryptionError } from "../errors.ts";
import { createSystemRecords, type SystemRecords } from "../system-records.ts";
import { decryptState, ENC_FIELD, encryptState, type KeyLookup } from "./content-crypto.ts";
import {
  createDataKeys,
  DATA_KEY_KIND,
  type DataKeyRecord,
  type DataKeys,
  rotateMasterKey,
  type SessionKeys,
} from "./data-keys.ts";
import type { EncryptedStore, EncryptionOptions } from "./encryption-options.ts";
import { type Opening, openItems, openSealed } from "./item-opening.ts";
import { replacementPatch, type SealedText, sealItems } from "./item-sealing.ts";
import type { Keyring } from "./keyring.ts";
import { PlaintextCache } from "./plaintext-cache.ts";
import { cachedItem, excludeKey, WindowCache } from "./window-cache.ts";

export type { EncryptedStore, EncryptionOptions } from "./encryption-options.ts";

const MAX_MERGE_RETRIES = 20;

class EncryptingStore implements EncryptedStore {
  readonly #inner: SessionStore;
  readonly #records: SystemRecords;
  readonly #keyring: Keyring;
  readonly #keys: DataKeys;
  readonly #countTokens: TokenCounter;
  readonly #estimate: boolean;
  readonly #plain: PlaintextCache;
  readonly #windows: WindowCache;

  constructor(inner: SessionStore, options: EncryptionOptions) {
    this.#inner = inner;
    this.#keyring = options.keyring;
    this.#records = createSystemRecords(options.systemStore ?? inner);
    this.#countTokens = options.countTokens ?? estimateTokens;
    this.#estimate = this.#countTokens === estimateTokens;
    this.#plain = new PlaintextCache(
      options.plaintextCacheBytes === undefined ? {} : { maxBytes: options.plaintextCacheBytes },
    );
    this.#windows = new WindowCache(options.plaintextCacheBytes ?? 64 << 20);
    this.#keys = createDataKeys({
      records: this.#records,
      keyring: options.keyring,
      ...(options.keyCacheTtlMs === undefined ? {} : { cacheTtlMs: options.keyCacheTtlMs }),
    });
  }

  get driverName(): string {
    return this.#inner.driverName;
  }

  #lookup(tenant: string, sessionId: string): KeyLookup {
    return async (origin) => {
      const key = (await this.#keys.load(tenant, sessionId)).get(origin);
      return key ?? (await this.#keys.load(tenant, sessionId, true)).get(origin);
    };
  }

  /** Runs a decryption; on failure retries once with freshly loaded keys (another instance may have re-keyed). */
  async #opening<T>(tenant: string, sessionId: string, run: (lookup: KeyLookup) => Promise<T>): Promise<T> {
    try {
      return await run(this.#lookup(tenant, sessionId));
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      await this.#keys.load(tenant, sessionId, true);
      return run(this.#lookup(tenant, sessionId));
    }
  }

  async #session(session: Session): Promise<Session> {
    if (typeof session.state[ENC_FIELD] !== "string") return session;
    const state = await this.#opening(session.tenant, session.id, (lookup) =>
      decryptState(session.state, lookup, session.tenant, session.id),
    );
    return { ...session, state };
  }

  /** Decrypts items in place; see openItems. */
  #items(tenant: string, sessionId: string, items: Item[], texts?: string[]): Promise<Item[]> {
    const opening = (run: Parameters<Opening>[0]) => this.#opening(tenant, sessionId, run);
    return openItems(this.#plain, opening, tenant, sessionId, items, texts);
  }

  /** Seals item bodies under `keys`; see sealItems. */
  #seal(
    tenant: string,
    sessionId: string,
    items: ItemInput[],
    keys: SessionKeys,
    operationId?: string,
    sealedTexts?: (SealedText | undefined)[],
  ): ItemInput[] {
    const countTokens = this.#estimate ? null : this.#countTokens;
    return sealItems(tenant, sessionId, items, keys, countTokens, operationId, sealedTexts);
  }

  async create(tenant: string, input: CreateSessionInput = {}): Promise<Session> {
    checkTenant(tenant);
    if (!isPlainObject(input)) return this.#inner.create(tenant, input as CreateSessionInput);
    const items = (input as CreateSessionInput).items;
    const id = input.id === undefined ? newSessionId() : checkSessionId(input.id, "id");
    const state = input.state === undefined ? undefined : checkJsonObject(input.state, "state");
    // The key record is written before the sealed session: a crash between the two leaves a key
    // without a session (shredOrphanedKeys removes it), never a session no key opens.
    const found = await this.#keys.load(tenant, id);
    const own = found.has(id) ? null : randomBytes(32);
    const keys = own ? await this.#keys.inherit(tenant, id, new Map([[id, own]])) : found;
    // Made here, not found (nor written by a concurrent create of the same id first).
    const fresh = own !== null && keys.get(id)?.equals(own) === true;
    let created: Session;
    try {
      const sealed: CreateSessionInput = { ...input, id };
      if (state !== undefined && Object.keys(state).length > 0)
        sealed.state = encryptState(state, keys, tenant, id);
      if (items !== undefined) sealed.items = this.#seal(tenant, id, items, keys);
      created = await this.#inner.create(tenant, sealed);
    } catch (error) {
      if (fresh) await this.#dropRefusedKey(tenant, id, keys, error);
      throw error;
    }
    // A key found rather than made may be a concurrent create's that was refused and is being
    // dropped (#dropRefusedKey): this session was sealed with it, so the record must keep it.
    if (!fresh) await this.#keys.inherit(tenant, id, keys);
    return this.#session(created);
  }

  /**
   * Removes the key a refused create made, so that it leaves nothing behind. A conflict keeps it
   * (the id is held; its session may be sealed with this key). Another create of the same id
   * that loaded this key and succeeded meanwhile is put right: by the check here when it finished
   * first, or by its own re-check (in create) when it finishes later.
   */
  async #dropRefusedKey(tenant: string, id: string, keys: SessionKeys, error: unknown): Promise<void> {
    if (isHoldfastError(error) && error.code === "conflict") return;
    try {
      await this.#keys.destroy(tenant, id);
      const gone = await this.#inner.get(tenant, id).then(
        () => false,
        (getError) => isHoldfastError(getError) && getError.code === "not_found",
      );
      if (!gone) await this.#keys.inherit(tenant, id, keys);
    } catch {
      // Best effort: a key left behind is an orphan that shredOrphanedKeys removes; the caller
      // gets the create's own error.
    }
  }

  async get(tenant: string, id: string): Promise<Session> {
    return this.#session(await this.#inner.get(tenant, id));
  }

  /** A head carries nothing sealed: the inner store's (or its `get`'s fields), without decryption. */
  head(tenant: string, id: string): Promise<SessionHeadInfo> {
    return readHead(this.#inner, tenant, id);
  }

  async list(tenant: string, query?: ListQuery): Promise<Page<Session>> {
    const page = await this.#inner.list(tenant, query);
    return { ...page, data: await Promise.all(page.data.map((s) => this.#session(s))) };
  }

  async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options?: WriteOptions,
  ): Promise<Session> {
    return this.#session(await this.#inner.update(tenant, id, patch, options));
  }

  async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    await this.#inner.delete(tenant, id, options);
    this.#plain.drop(tenant, id);
    this.#windows.drop(tenant, id);
    await this.#keys.destroy(tenant, id);
  }

  async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    checkTenant(tenant);
    checkSessionId(id);
    // Fail on a missing or foreign session before creating a key for it.
    let own = this.#keys.cached(tenant, id) ?? (await this.#keys.load(tenant, id));
    if (!own.has(id)) {
      await this.#inner.get(tenant, id);
      own = await this.#keys.ensure(tenant, id);
    }
    const operationId = typeof options.operationId === "string" ? options.operationId : undefined;
    const sealedTexts: (SealedText | undefined)[] = [];
    const result = await this.#inner.append(
      tenant,
      id,
      this.#seal(tenant, id, items, own, operationId, sealedTexts),
      options,
    );
    // The store hands back the items just sealed (a replay: the same bytes, sealed deterministically);
    // they are answered from the plaintext in hand, anything else is decrypted.
    const texts: string[] = [];
    const decrypted = openSealed(result.items, sealedTexts, texts)
      ? result.items
      : await this.#items(tenant, id, result.items, texts);
    if (result.replayed || !this.#windows.enabled) return { ...result, items: decrypted };
    if (!this.#windows.extend(tenant, id, result, decrypted, texts)) {
      // No window carries these items (e.g. the session's first turn here): keep their plaintext
      // for the read that will fill one, instead of opening them again.
      for (const sealed of sealedTexts) {
        if (sealed) this.#plain.set(tenant, id, sealed.id, sealed.blob, sealed.text);
      }
    }
    return { ...result, items: decrypted };
  }

  async patchState(
    tenant: string,
    id: string,
    patch: JsonValue,
    options: WriteOptions = {},
  ): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    checkJson(patch, "state");
    return mergeStateWithRetry(id, patch, checkVersion(options.expectedVersion), MAX_MERGE_RETRIES, {
      read: async () => {
        const stored = await this.#inner.get(tenant, id);
        const current = await this.#session(stored);
        return { version: current.version, state: current.state, context: stored };
      },
      write: async (next, read) => {
        const keys = await this.#keys.ensure(tenant, id);
        const sealed = encryptState(next, keys, tenant, id);
        const saved = await this.#inner.patchState(tenant, id, replacementPatch(read.context.state, sealed), {
          expectedVersion: read.version,
        });
        return { ...saved, state: next };
      },
    });
  }

  async readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    return this.#items(tenant, id, await this.#inner.readItems(tenant, id, query));
  }

  async getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    const [item] = await this.#items(tenant, id, [await this.#inner.getItem(tenant, id, itemId)]);
    if (!item) throw new DecryptionError(`Item '${itemId}' vanished during decryption.`);
    return item;
  }

  async deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session> {
    const session = await this.#inner.deleteItem(tenant, id, itemId, options);
    // The version moved (no cached window is served again), but a deleted item's plaintext
    // should not linger in this process either.
    this.#windows.drop(tenant, id);
    this.#plain.dropItem(tenant, id, itemId);
    return this.#session(session);
  }

  async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    const maxTokens = isPlainObject(query) ? query.maxTokens : undefined;
    // Anything the store would reject goes to it, so errors and their order stay the store's.
    if (!this.#windows.enabled || !Number.isSafeInteger(maxTokens) || (maxTokens as number) < 0) {
      return this.#storeWindow(tenant, id, query);
    }
    checkTenant(tenant);
    checkSessionId(id);
    const types = checkExcludeTypes(query.excludeTypes);
    const exclude = excludeKey(types);
    if (exclude === null) return this.#storeWindow(tenant, id, query);
    const key = { maxTokens: query.maxTokens, exclude };
    // The head (one small read, no JSON where the store can) says whether the decrypted window
    // kept for this session is current.
    const head = await readHead(this.#inner, tenant, id);
    const hit = this.#windows.get(tenant, id, key, head);
    if (hit) return hit;
    // The whole range, so that it can be carried over appends: excluded items stay sealed and
    // are left out of the answer (their types are not calls or outputs: pairing is unchanged).
    const full = await this.#inner.readWindow(tenant, id, { maxTokens: query.maxTokens });
    const excluded = new Set(types);
    const items = excluded.size === 0 ? full.items : full.items.filter((i) => !excluded.has(i.type));
    const texts: string[] = [];
    await this.#items(tenant, id, items, texts);
    if (full.sessionVersion === head.version) {
      let next = 0;
      const range = full.items.map((item) =>
        excluded.has(item.type) ? cachedItem(item, null) : cachedItem(item, texts[next++] as string),
      );
      this.#windows.set(tenant, id, key, head, { range, truncated: full.truncated });
    }
    let tokens = 0;
    for (const item of items) tokens += item.tokens;
    return {
      items,
      tokens,
      fromSeq: items[0]?.seq ?? 0,
      truncated: full.truncated,
      sessionVersion: full.sessionVersion,
    };
  }

  /** The store's window, decrypted (no window cache). */
  async #storeWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    const window = await this.#inner.readWindow(tenant, id, query);
    return { ...window, items: await this.#items(tenant, id, window.items) };
  }

  async fork(tenant: string, id: string, input: ForkInput = {}): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    if (!isPlainObject(input)) return this.#inner.fork(tenant, id, input as ForkInput);
    const { state, ...rest } = input;
    const override = state === undefined ? undefined : checkJsonObject(state, "state");
    const child = await this.#inner.fork(tenant, id, rest);
    // The child's copied items and state stay sealed under the parent's keys: it inherits them.
    const keys = await this.#keys.inherit(tenant, child.id, await this.#keys.load(tenant, id, true));
    if (override === undefined) return this.#session(child);
    const withOwn = keys.has(child.id) ? keys : await this.#keys.ensure(tenant, child.id);
    const saved = await this.#inner.patchState(
      tenant,
      child.id,
      replacementPatch(child.state, encryptState(override, withOwn, tenant, child.id)),
      { expectedVersion: child.version },
    );
    return { ...saved, state: structuredClone(override) };
  }

  async touch(tenant: string, id: string): Promise<Session> {
    return this.#session(await this.#inner.touch(tenant, id));
  }

  /** Claims carry no content: they pass through (the append's claim option does too). */
  renewClaim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.#inner.renewClaim(tenant, id, holder, ttlMs);
  }

  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#inner.releaseClaim(tenant, id, holder);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }

  async shredOrphanedKeys(
    options: { olderThanMs?: number; now?: number } = {},
  ): Promise<{ checked: number; shredded: number }> {
    const cutoff = (options.now ?? Date.now()) - (options.olderThanMs ?? 600_000);
    let checked = 0;
    let shredded = 0;
    for await (const record of this.#records.list<DataKeyRecord>(DATA_KEY_KIND)) {
      if (record.createdAt > cutoff) continue;
      checked++;
      const { tenant, sessionId } = record.data;
      try {
        await this.#inner.get(tenant, sessionId);
      } catch (error) {
        if (!(isHoldfastError(error) && error.code === "not_found")) throw error;
        this.#plain.drop(tenant, sessionId);
        this.#windows.drop(tenant, sessionId);
        await this.#keys.destroy(tenant, sessionId);
        shredded++;
      }
    }
    return { checked, shredded };
  }

  rotateMasterKey(): Promise<{ records: number; rewrapped: number }> {
    return rotateMasterKey({ records: this.#records, keyring: this.#keyring });
  }
}

/** Wraps `store` with envelope encryption at rest; see docs/security.md. */
export function withEncryption(store: SessionStore, options: EncryptionOptions): EncryptedStore {
  if (!options?.keyring?.active) {
    throw new InvalidArgumentError(
      "withEncryption needs options.keyring (see parseKeyring / keyringFromEnv).",
    );
  }
  return new EncryptingStore(store, options);
}
