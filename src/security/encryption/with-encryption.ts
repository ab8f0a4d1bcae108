/**
 * `withEncryption(store, { keyring })`: a SessionStore decorator adding envelope encryption at
 * rest. Each session gets its own AES-256-GCM data key, wrapped by the keyring's active master
 * key and kept in system records; item bodies and session state are sealed before they reach
 * the inner store and opened after. Token counts are taken on the plaintext (passed explicitly
 * to the inner append), so windows and budgets work unchanged. Deleting a session destroys its
 * data key (crypto-shredding): copies in backups become unreadable. Its parts live beside it:
 * the create's key lifecycle (create-with-key.ts), opening (session-opener.ts), the cached
 * window read (window-read.ts), sealing (item-sealing.ts).
 */

import { appendArguments } from "../../store/append-arguments.ts";
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
  checkJson,
  checkJsonObject,
  checkSessionId,
  checkTenant,
  checkVersion,
  isPlainObject,
  LIMITS,
} from "../../store/validate.ts";
import { DecryptionError } from "../errors.ts";
import { createSystemRecords, type SystemRecords } from "../system-records.ts";
import { encryptState } from "./content-crypto.ts";
import { createWithDataKey } from "./create-with-key.ts";
import {
  createDataKeys,
  type DataKeys,
  rotateMasterKey,
  type SessionKeys,
  shredOrphanedDataKeys,
} from "./data-keys.ts";
import type { EncryptedStore, EncryptionOptions } from "./encryption-options.ts";
import { openSealed } from "./item-opening.ts";
import { replacementPatch, type SealedText, sealItems } from "./item-sealing.ts";
import type { Keyring } from "./keyring.ts";
import { PlaintextCache } from "./plaintext-cache.ts";
import { AppendHeads, appendSealed } from "./sealed-append.ts";
import { checkPlainState, explainSealedRefusal, rethrowExplained } from "./sealed-limits.ts";
import { SessionOpener, unlessGone } from "./session-opener.ts";
import { WindowCache } from "./window-cache.ts";
import { readWindowCached } from "./window-read.ts";

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
  readonly #opener: SessionOpener;
  readonly #heads = new AppendHeads();
  /** The plaintext limits (the inner store limits the larger sealed form; see sealed-limits.ts). */
  readonly #maxItemBytes: number;
  readonly #maxStateBytes: number;

  constructor(inner: SessionStore, options: EncryptionOptions) {
    this.#inner = inner;
    this.#maxItemBytes = options.maxItemBytes ?? LIMITS.itemBytes;
    this.#maxStateBytes = options.maxStateBytes ?? LIMITS.stateBytes;
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
    this.#opener = new SessionOpener(this.#keys, this.#plain, (tenant, id) => this.#isGone(tenant, id));
  }

  get driverName(): string {
    return this.#inner.driverName;
  }

  /**
   * The plain store's append checks, item sizes on the plaintext: asked when the session turned out
   * to be missing, or an item too large, so the caller gets the first refusal the plain store makes.
   */
  #checkAppend(items: ItemInput[], options: AppendOptions): void {
    appendArguments(items, options, Date.now(), { maxItemBytes: this.#maxItemBytes, countTokens: null });
  }

  /** Whether the inner store no longer has the session (deleted, expired). */
  async #isGone(tenant: string, id: string): Promise<boolean> {
    try {
      await readHead(this.#inner, tenant, id);
      return false;
    } catch (error) {
      if (isHoldfastError(error) && error.code === "not_found") return true;
      throw error;
    }
  }

  /** Seals item bodies under `keys` for the seqs after `afterSeq`; see sealItems. */
  #seal(
    tenant: string,
    sessionId: string,
    items: ItemInput[],
    afterSeq: number,
    keys: SessionKeys,
    operationId?: string,
    sealedTexts?: (SealedText | undefined)[],
  ): ItemInput[] {
    const countTokens = this.#estimate ? null : this.#countTokens;
    const max = this.#maxItemBytes;
    return sealItems(tenant, sessionId, items, afterSeq, keys, countTokens, max, operationId, sealedTexts);
  }

  async create(tenant: string, input: CreateSessionInput = {}): Promise<Session> {
    checkTenant(tenant);
    if (!isPlainObject(input)) return this.#inner.create(tenant, input as CreateSessionInput);
    const items = (input as CreateSessionInput).items;
    const id = input.id === undefined ? newSessionId() : checkSessionId(input.id, "id");
    const state = input.state === undefined ? undefined : checkJsonObject(input.state, "state");
    if (state !== undefined) checkPlainState(state, this.#maxStateBytes);
    let key: Buffer | undefined;
    const created = await createWithDataKey(this.#inner, this.#keys, tenant, id, (keys) => {
      key = keys.get(id);
      const sealed: CreateSessionInput = { ...input, id };
      if (state !== undefined && Object.keys(state).length > 0)
        sealed.state = encryptState(state, keys, tenant, id);
      // A new session numbers its first items from 1.
      if (items !== undefined) sealed.items = this.#seal(tenant, id, items, 0, keys);
      return sealed;
    }).catch(rethrowExplained);
    if (key) {
      const { version, lastSeq } = created;
      this.#heads.set(tenant, id, key, { version, lastSeq, sealAfter: lastSeq });
    }
    return this.#opener.session(created);
  }

  async get(tenant: string, id: string): Promise<Session> {
    return this.#opener.session(await this.#inner.get(tenant, id));
  }

  /** A head carries nothing sealed: the inner store's (or its `get`'s fields), without decryption. */
  head(tenant: string, id: string): Promise<SessionHeadInfo> {
    return readHead(this.#inner, tenant, id);
  }

  async list(tenant: string, query?: ListQuery): Promise<Page<Session>> {
    const page = await this.#inner.list(tenant, query);
    // A session deleted while the page was opened is left out, as a list just after the delete would.
    const opened = await Promise.all(page.data.map((s) => this.#opener.session(s).catch(unlessGone)));
    return { ...page, data: opened.filter((s): s is Session => s !== null) };
  }

  async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options?: WriteOptions,
  ): Promise<Session> {
    const updated = await this.#inner.update(tenant, id, patch, options);
    this.#heads.advance(tenant, id, updated);
    return this.#opener.session(updated);
  }

  async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    await this.#inner.delete(tenant, id, options);
    this.#heads.drop(tenant, id);
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
      await this.#inner.get(tenant, id).catch((error: unknown) => {
        // The plain store checks the arguments before it looks the session up: a bad append to a
        // missing session is `invalid_argument` there, so here too. Only this failure path pays.
        if (isHoldfastError(error) && error.code === "not_found") this.#checkAppend(items, options);
        throw error;
      });
      own = await this.#keys.ensure(tenant, id);
    }
    const operationId = typeof options.operationId === "string" ? options.operationId : undefined;
    const key = own.get(id) as Buffer;
    const { result, sealedTexts } = await appendSealed(
      this.#inner,
      this.#heads,
      tenant,
      id,
      key,
      options,
      (afterSeq, sealedTexts) => this.#seal(tenant, id, items, afterSeq, own, operationId, sealedTexts),
    ).catch((error: unknown) => {
      // Its head is read first here: a bad append to a missing session is still `invalid_argument`.
      // An item too large was found while sealing, maybe after an item the plain store refuses first.
      const code = isHoldfastError(error) ? error.code : null;
      if (code === "not_found" || code === "payload_too_large") this.#checkAppend(items, options);
      throw explainSealedRefusal(error);
    });
    // The store hands back the items just sealed (a replay: the same bytes, sealed deterministically);
    // they are answered from the plaintext in hand, anything else is decrypted.
    const texts: string[] = [];
    const decrypted = openSealed(result.items, sealedTexts, texts)
      ? result.items
      : await this.#opener.items(tenant, id, result.items, texts);
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
        const current = await this.#opener.session(stored);
        return { version: current.version, state: current.state, context: stored };
      },
      write: async (next, read) => {
        checkPlainState(next, this.#maxStateBytes);
        const keys = await this.#keys.ensure(tenant, id);
        const sealed = encryptState(next, keys, tenant, id);
        const patch = replacementPatch(read.context.state, sealed);
        const saved = await this.#inner
          .patchState(tenant, id, patch, { expectedVersion: read.version })
          .catch(rethrowExplained);
        this.#heads.advance(tenant, id, saved);
        return { ...saved, state: next };
      },
    });
  }

  async readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    return this.#opener.items(tenant, id, await this.#inner.readItems(tenant, id, query));
  }

  async getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    const [item] = await this.#opener.items(tenant, id, [await this.#inner.getItem(tenant, id, itemId)]);
    if (!item) throw new DecryptionError(`Item '${itemId}' vanished during decryption.`);
    return item;
  }

  async deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session> {
    const session = await this.#inner.deleteItem(tenant, id, itemId, options);
    this.#heads.advance(tenant, id, session);
    // The version moved (no cached window is served again), but a deleted item's plaintext
    // should not linger in this process either.
    this.#windows.drop(tenant, id);
    this.#plain.dropItem(tenant, id, itemId);
    return this.#opener.session(session);
  }

  async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    return readWindowCached(this.#inner, this.#windows, this.#opener, tenant, id, query);
  }

  async fork(tenant: string, id: string, input: ForkInput = {}): Promise<Session> {
    checkTenant(tenant);
    checkSessionId(id);
    if (!isPlainObject(input)) return this.#inner.fork(tenant, id, input as ForkInput);
    const { state, ...rest } = input;
    const override = state === undefined ? undefined : checkJsonObject(state, "state");
    // Before the fork: a state refused after it would leave the child behind with its parent's state.
    if (override !== undefined) checkPlainState(override, this.#maxStateBytes);
    // The child's copied items and state stay sealed under the parent's keys: it inherits them.
    // They are read before the copy too: a delete of the parent racing this fork may destroy them
    // right after the copy, which would leave the child sealed for good.
    let before = await this.#keys.load(tenant, id, true);
    if (!before.has(id)) {
      // A never-written fork has no key of its own: an append racing this fork would make one and
      // seal under it, and a delete racing it would destroy that key before the read below, so
      // the child would copy an item no key of it opens. Made here first, both reads see it.
      await readHead(this.#inner, tenant, id);
      before = await this.#keys.ensure(tenant, id);
    }
    const child = await this.#inner.fork(tenant, id, rest);
    const after = await this.#keys.load(tenant, id, true);
    const keys = await this.#keys.inherit(tenant, child.id, new Map([...before, ...after]));
    if (override === undefined) return this.#opener.session(child);
    const withOwn = keys.has(child.id) ? keys : await this.#keys.ensure(tenant, child.id);
    const sealed = replacementPatch(child.state, encryptState(override, withOwn, tenant, child.id));
    const saved = await this.#inner
      .patchState(tenant, child.id, sealed, { expectedVersion: child.version })
      .catch(async (error: unknown) => {
        // The sealed state is over the store's limit: the child must not stay with its parent's state.
        if (isHoldfastError(error) && error.code === "payload_too_large") await this.delete(tenant, child.id);
        throw explainSealedRefusal(error);
      });
    return { ...saved, state: structuredClone(override) };
  }

  async touch(tenant: string, id: string): Promise<Session> {
    return this.#opener.session(await this.#inner.touch(tenant, id));
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
    return shredOrphanedDataKeys({
      store: this.#inner,
      records: this.#records,
      ...options,
      destroy: async (tenant, sessionId) => {
        this.#heads.drop(tenant, sessionId);
        this.#plain.drop(tenant, sessionId);
        this.#windows.drop(tenant, sessionId);
        await this.#keys.destroy(tenant, sessionId);
      },
    });
  }

  openItems(tenant: string, sessionId: string, items: Item[]): Promise<Item[]> {
    checkTenant(tenant);
    checkSessionId(sessionId);
    return this.#opener.items(tenant, sessionId, items);
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
