/**
 * Encryption at rest as `holdfast serve` and the CLI apply it, so the two cannot drift apart: the
 * keyring comes from HOLDFAST_KEYS or HOLDFAST_KEY_FILE (`keyringFromEnv`), the decorator counts
 * plaintext with the same counter the store was opened with. Without a keyring, a store whose
 * sessions were encrypted is opened behind `refuseEncryptedSessions`: reading one of them would
 * show ciphertext as content, writing one would put plaintext beside its sealed items, and
 * creating a session in such a store would put plaintext where the deployment promises none.
 */
import type { StoreCoreOptions } from "../store/core.ts";
import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { InvalidArgumentError } from "../store/errors.ts";
import type { TokenCounter } from "../store/tokens.ts";
import type {
  AppendOptions,
  AppendResult,
  CreateSessionInput,
  ForkInput,
  Item,
  ItemInput,
  JsonValue,
  ReadItemsQuery,
  Session,
  SessionStore,
  Window,
  WindowQuery,
  WriteOptions,
} from "../store/types.ts";
import { DATA_KEY_KIND, dataKeyRecordKey, shredOrphanedDataKeys } from "./encryption/data-keys.ts";
import type { EncryptedStore } from "./encryption/encryption-options.ts";
import type { Keyring } from "./encryption/keyring.ts";
import { type PlaintextLimits, sealedStoreLimits } from "./encryption/sealed-limits.ts";
import { withEncryption } from "./encryption/with-encryption.ts";
import { createSystemRecords, type SystemRecords, systemTenant } from "./system-records.ts";

/**
 * The options to open the store `encryptAtRest` wraps with: with a keyring, its item and state
 * limits become those of the sealed form of a plaintext at `options`' limits (default 1 MiB),
 * which the decorator enforces on the plaintext. A limit means the caller's bytes either way.
 */
export function atRestStoreOptions<T extends StoreCoreOptions>(options: T, keyring: Keyring | null): T {
  return keyring ? { ...options, ...sealedStoreLimits(options) } : options;
}

/**
 * `base` (opened with `atRestStoreOptions`) behind the encryption decorator when a keyring is
 * configured, else null. `maxItemBytes` / `maxStateBytes`: the plaintext limits (default 1 MiB).
 */
export function encryptAtRest(
  base: SessionStore,
  options: { keyring: Keyring | null; countTokens: TokenCounter } & PlaintextLimits,
): EncryptedStore | null {
  const { keyring, ...rest } = options;
  return keyring ? withEncryption(base, { keyring, ...rest }) : null;
}

/** Whether `store` is the encryption decorator (it opens items read past it, e.g. from an archive). */
export function isEncryptedStore(store: SessionStore): store is EncryptedStore {
  return typeof (store as Partial<EncryptedStore>).openItems === "function";
}

/**
 * A session is encrypted when it has a data-key record: the decorator makes one before it seals
 * anything of the session (its own key, or the keys a fork inherits).
 */
export async function isEncryptedSession(
  records: SystemRecords,
  tenant: string,
  sessionId: string,
): Promise<boolean> {
  return (await records.get(DATA_KEY_KIND, dataKeyRecordKey(tenant, sessionId))) !== null;
}

/**
 * Whether `store` holds encrypted sessions: a data-key record of any tenant. The decorator makes
 * one before it seals anything, so a store serve has written to with HOLDFAST_KEYS has one (until
 * every encrypted session is deleted and its key shredded). One list call of at most one row.
 */
export async function holdsEncryptedSessions(store: SessionStore): Promise<boolean> {
  return (await store.list(systemTenant(DATA_KEY_KIND), { limit: 1 })).data.length > 0;
}

/** The refusal of a keyless write of new sessions (an import) into a store that holds encrypted ones. */
export function encryptedStoreError(): InvalidArgumentError {
  return new InvalidArgumentError(
    "This store holds encrypted sessions (encryption at rest is on): set HOLDFAST_KEYS or HOLDFAST_KEY_FILE (the keys `holdfast serve` uses) to write sessions into it; without them they would be stored in plaintext. Nothing was written.",
    { param: "HOLDFAST_KEYS" },
  );
}

/** The refusal of a keyless read or write of an encrypted session. */
export function encryptedSessionError(sessionId: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Session '${sessionId}' is encrypted: set HOLDFAST_KEYS or HOLDFAST_KEY_FILE (the keys \`holdfast serve\` uses) to read or change it.`,
    { param: "HOLDFAST_KEYS" },
  );
}

/**
 * Refuses every read of a session's contents (state, items) and every write into them when the
 * session is encrypted; plaintext sessions, listings and claims pass through untouched, and a
 * delete also destroys the session's data key.
 */
class EncryptedSessionGuard extends DelegatingStore {
  readonly #records: SystemRecords;

  constructor(inner: SessionStore) {
    super(inner);
    this.#records = createSystemRecords(inner);
  }

  async #plain(tenant: string, id: string): Promise<void> {
    if (await isEncryptedSession(this.#records, tenant, id)) throw encryptedSessionError(id);
  }

  /** The refusal of a read of `id`, for a check before anything is read (`encryptedSessionCheck`). */
  refuseIfEncrypted(tenant: string, id: string): Promise<void> {
    return this.#plain(tenant, id);
  }

  /** The refusal `refuseKeylessWrites` runs up front; `create` runs it too, for every other caller. */
  async refuseWrites(): Promise<void> {
    if (await holdsEncryptedSessions(this.inner)) throw encryptedStoreError();
  }

  /** A session created without the keys in a store that encrypts would hold its contents in plaintext. */
  override async create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    await this.refuseWrites();
    return super.create(tenant, input);
  }

  override async get(tenant: string, id: string): Promise<Session> {
    await this.#plain(tenant, id);
    return super.get(tenant, id);
  }
  override async readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    await this.#plain(tenant, id);
    return super.readItems(tenant, id, query);
  }
  override async getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    await this.#plain(tenant, id);
    return super.getItem(tenant, id, itemId);
  }
  override async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    await this.#plain(tenant, id);
    return super.readWindow(tenant, id, query);
  }
  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    await this.#plain(tenant, id);
    return super.append(tenant, id, items, options);
  }
  override async patchState(
    tenant: string,
    id: string,
    patch: JsonValue,
    options?: WriteOptions,
  ): Promise<Session> {
    await this.#plain(tenant, id);
    return super.patchState(tenant, id, patch, options);
  }
  /**
   * Deleting needs no key, and destroys the session's data key as the decorator's delete does
   * (crypto-shredding): a key left behind would open copies of its items in backups.
   */
  override async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    await super.delete(tenant, id, options);
    await this.#records.delete(DATA_KEY_KIND, dataKeyRecordKey(tenant, id));
  }
  /** A keyless fork would copy sealed items into a child that inherits no key to open them. */
  override async fork(tenant: string, id: string, input?: ForkInput): Promise<Session> {
    await this.#plain(tenant, id);
    return super.fork(tenant, id, input);
  }
}

/** `store` refusing to read or write the contents of its encrypted sessions; see the module comment. */
export function refuseEncryptedSessions(store: SessionStore): SessionStore {
  return new EncryptedSessionGuard(store);
}

/**
 * Refuses, before anything is written, a command that writes sessions (an import) through a
 * keyless store (`refuseEncryptedSessions`) over a store that holds encrypted sessions: it would
 * create them, or append to plaintext ones, in plaintext. Passes the decorator and keyless stores
 * that hold no encrypted session.
 */
export async function refuseKeylessWrites(store: SessionStore): Promise<void> {
  if (store instanceof EncryptedSessionGuard) await store.refuseWrites();
}

/**
 * For a keyless store (`refuseEncryptedSessions`) over a store that holds encrypted sessions: a
 * check that refuses an encrypted session as reading it would, for a pass over everything a
 * command will read before it writes any output (`exportSessions`' `preflight`). Undefined
 * otherwise (the decorator, or nothing encrypted in the store): there is nothing to refuse.
 */
export async function encryptedSessionCheck(
  store: SessionStore,
): Promise<((tenant: string, session: Session) => Promise<void>) | undefined> {
  if (!(store instanceof EncryptedSessionGuard) || !(await holdsEncryptedSessions(store))) return undefined;
  return (tenant, session) => store.refuseIfEncrypted(tenant, session.id);
}

/**
 * Destroys the data keys of sessions that no longer exist (crypto-shredding after a sweep, which
 * removes sessions below the decorator); needs no keyring. See `shredOrphanedDataKeys`.
 */
export function shredOrphanedKeysIn(
  store: SessionStore,
  options: { now?: number } = {},
): Promise<{ checked: number; shredded: number }> {
  return shredOrphanedDataKeys({ store, records: createSystemRecords(store), ...options });
}
