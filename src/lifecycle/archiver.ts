/**
 * The archiver: moves a session's items into cold storage (an ArchiveBackend: a directory or a
 * SQLite/Postgres table, see archive-backend.ts) and leaves a stub
 * (status `archived`, counters kept, items removed); restores a stub from its archive; purges a
 * stub with its archive. `withArchives(store, archiver)` restores archived sessions
 * transparently when they are read or written through the store.
 */

import { DelegatingStore, driverOf } from "../store/decorators/delegating-store.ts";
import {
  isLifecycleCapable,
  type LifecycleCapable,
  type PurgeResult,
  type StoreDriver,
} from "../store/driver.ts";
import { ConflictError, InvalidArgumentError, isHoldfastError, sessionNotFound } from "../store/errors.ts";
import type {
  AppendOptions,
  AppendResult,
  ForkInput,
  Item,
  ItemInput,
  ReadItemsQuery,
  Session,
  SessionStore,
  UpdateSessionInput,
  Window,
  WindowQuery,
  WriteOptions,
} from "../store/types.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { createDirectoryArchiveBackend } from "./archive-files.ts";
import { ArchiveCorruptError } from "./archive-format.ts";
import { unrestorableItem } from "./archived-items.ts";

export interface ArchiverOptions {
  /** Where archives go (archive-open.ts opens one from config); the caller closes it. */
  backend?: ArchiveBackend;
  /** Shorthand for a gzip `dir` backend in this directory (created on first use). */
  dir?: string;
  /** Epoch ms; injectable for tests. Default `Date.now`. */
  clock?: () => number;
  /** Items read per page while archiving (default 1000). */
  pageSize?: number;
}

export interface ArchiveResult {
  /** False when the session moved or vanished since it was planned (nothing changed). */
  archived: boolean;
  items: number;
  /** Item bytes removed from the store. */
  bytes: number;
  compressedBytes: number;
}

export interface Archiver {
  readonly backend: ArchiveBackend;
  /** Archives the session if it is still at `version` (any version when omitted). */
  archive(tenant: string, id: string, version?: number): Promise<ArchiveResult>;
  /** Restores an archived session; `not_found` unless it is an archived stub with an archive. */
  restore(tenant: string, id: string): Promise<Session>;
  /** Hard-deletes sessions (stubs or not) and their archives. */
  purge(targets: { tenant: string; id: string; version?: number }[]): Promise<PurgeResult>;
}

/** The lifecycle capability of the driver under `store`, or a clear error. */
export function lifecycleDriver(store: SessionStore): StoreDriver & LifecycleCapable {
  const driver = driverOf(store);
  if (!driver || !isLifecycleCapable(driver)) {
    throw new InvalidArgumentError(
      `The '${store.driverName}' store cannot run lifecycle cleanup (its driver has no LifecycleCapable support); use memory:, sqlite:, postgres:// or redis://.`,
      { param: "store" },
    );
  }
  return driver;
}

async function* allItems(
  driver: LifecycleCapable,
  tenant: string,
  id: string,
  pageSize: number,
): AsyncGenerator<Item> {
  let after = 0;
  for (;;) {
    const page = await driver.scanItems(tenant, id, after, pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.seq;
  }
}

/** Looks a restore gets at a session that races (restores, sweeps), the last one answering the race's error. */
const RESTORE_ATTEMPTS = 4;

/**
 * How far another instance's clock may lag this one's: a session changed this long before an
 * empty read began may have been restored during it, so the read is repeated (see #readAgain).
 */
const RACE_MARGIN_MS = 5_000;

/** Thrown into an archive write whose copy is not the session at the version it was read at. */
class SessionMoved extends Error {}

/**
 * The items of `session` (read at `session.version`), then a look at the session: if it moved
 * meanwhile the write fails (SessionMoved) before it stores anything. Pages read across a change
 * may mix two versions, and pages read after another archive call made the stub hold no items:
 * such a copy must never replace an archive. A copy that passes holds exactly the items of that
 * version (every change bumps it, and it never comes back), so two of one version are the same.
 */
async function* itemsAtVersion(
  driver: LifecycleCapable,
  session: Session,
  pageSize: number,
): AsyncGenerator<Item> {
  yield* allItems(driver, session.tenant, session.id, pageSize);
  const [now] = await driver.scanSessions({ tenant: session.tenant, id: session.id, limit: 1 });
  if (now?.version !== session.version) throw new SessionMoved();
}

class StoreArchiver implements Archiver {
  readonly backend: ArchiveBackend;
  readonly #store: SessionStore;
  readonly #driver: StoreDriver & LifecycleCapable;
  readonly #clock: () => number;
  readonly #pageSize: number;

  constructor(store: SessionStore, options: ArchiverOptions) {
    if (options.backend) this.backend = options.backend;
    else if (typeof options.dir === "string" && options.dir.length > 0) {
      this.backend = createDirectoryArchiveBackend(options.dir);
    } else {
      throw new InvalidArgumentError("Archiver needs a backend or a dir (a directory path).", {
        param: "dir",
      });
    }
    this.#store = store;
    this.#driver = lifecycleDriver(store);
    this.#clock = options.clock ?? Date.now;
    this.#pageSize = options.pageSize ?? 1000;
  }

  async archive(tenant: string, id: string, version?: number): Promise<ArchiveResult> {
    const [session] = await this.#driver.scanSessions({ tenant, id, limit: 1 });
    const none = { archived: false, items: 0, bytes: 0, compressedBytes: 0 };
    if (!session || session.status === "archived" || (version !== undefined && session.version !== version)) {
      return none;
    }
    let file: Awaited<ReturnType<ArchiveBackend["write"]>>;
    try {
      file = await this.backend.write(
        this.#store.driverName,
        session,
        itemsAtVersion(this.#driver, session, this.#pageSize),
      );
    } catch (error) {
      if (error instanceof SessionMoved) return none;
      throw error;
    }
    // An archive of a newer version is there: a later archive call's, which stays.
    if (!file.written) return none;
    const stub = await this.#driver.archiveStub(tenant, id, { version: session.version, now: this.#clock() });
    if (!stub) {
      // The session moved since it was read. If another archive call of this same version made
      // it a stub (archiveStub bumps the version by one), the archive there — this call's copy or
      // its own, the same items — is the stub's only copy and stays. Otherwise no stub needs an
      // archive of this version, now or later (a later one writes an archive of its own, newer
      // version, which this removal leaves alone): it is stale.
      const [now] = await this.#driver.scanSessions({ tenant, id, limit: 1 });
      const stubbedByAnother = now?.status === "archived" && now.version === session.version + 1;
      if (!stubbedByAnother) await this.backend.remove(tenant, id, { version: session.version });
      return none;
    }
    const itemBytes = session.bytes - Buffer.byteLength(JSON.stringify(session.state));
    return { archived: true, items: file.items, bytes: itemBytes, compressedBytes: file.compressedBytes };
  }

  async restore(tenant: string, id: string): Promise<Session> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#restoreOnce(tenant, id, attempt === RESTORE_ATTEMPTS);
      if (outcome !== null) return outcome;
      // A race moved the session on (see #restoreOnce): look again, shortly.
      await new Promise((resolve) => setTimeout(resolve, attempt * 5));
    }
  }

  /**
   * One restore attempt; null when a race left the session an archived stub that may restore on
   * a second look (unless `last`, then the race's error): its archive was being set aside for a
   * moment (the `dir` backend claims a file while it checks whose it is), or a sweep archived the
   * session again after another restore. Concurrent restores end with one of them restoring and
   * the others answering its result.
   */
  async #restoreOnce(tenant: string, id: string, last: boolean): Promise<Session | null> {
    const [stub] = await this.#driver.scanSessions({ tenant, id, limit: 1 });
    if (!stub) throw sessionNotFound(id);
    if (stub.status !== "archived") return stub;
    let block: Awaited<ReturnType<ArchiveBackend["read"]>>;
    try {
      block = await this.backend.read(tenant, id);
    } catch (error) {
      // Another restore may have won the race and removed the archive since the stub was read.
      if (!isHoldfastError(error) || error.code !== "not_found") throw error;
      const [now] = await this.#driver.scanSessions({ tenant, id, limit: 1 });
      if (!now) throw sessionNotFound(id);
      if (now.version !== stub.version && now.status === "active") return now;
      if (last) throw error;
      return null;
    }
    // Checked here, not by the driver: a database refusal would be a bare 500 naming nothing.
    const problem = unrestorableItem(block.items);
    if (problem) throw new ArchiveCorruptError(id, this.backend.location, problem);
    const restored = await this.#driver.restoreItems(tenant, id, {
      version: stub.version,
      items: block.items,
      idleTtlMs: block.session.idleTtlMs,
      now: this.#clock(),
    });
    if (!restored) {
      // Another restore won the race; its result is what the caller wants.
      const [now] = await this.#driver.scanSessions({ tenant, id, limit: 1 });
      if (!now) throw sessionNotFound(id);
      if (now.status === "active") return now;
      if (!last) return null;
      throw new ConflictError(`Session '${id}' changed while it was being restored; retry.`, {
        param: "session_id",
      });
    }
    // Only the archive just restored: a sweep may have archived the session again since
    // restoreItems, and that new archive is the only copy of its items.
    await this.backend.remove(tenant, id, { version: block.session.version });
    return restored;
  }

  async purge(targets: { tenant: string; id: string; version?: number }[]): Promise<PurgeResult> {
    const result = await this.#driver.purgeSessions(targets);
    for (const key of result.removed) {
      const [tenant, id] = key.split("\u0000") as [string, string];
      await this.backend.remove(tenant, id);
    }
    return result;
  }
}

/** Creates an archiver over `store` (its driver must be LifecycleCapable). */
export function createArchiver(store: SessionStore, options: ArchiverOptions): Archiver {
  return new StoreArchiver(store, Object.freeze({ ...options }));
}

/**
 * Restores archived sessions on first use: reads and writes see the full session again, at no
 * extra read while the session is not archived. An append to an archived session is refused by
 * the driver (`session_archived`, nothing written): the session is restored and the append
 * retried. A stub has no items, so a read of one answers empty (readItems, readWindow) or
 * `not_found` (getItem, deleteItem): only such answers are checked with a `get`, and repeated
 * after a restore.
 */
class ArchiveRestoringStore extends DelegatingStore {
  readonly #archiver: Archiver;

  constructor(inner: SessionStore, archiver: Archiver) {
    super(inner);
    this.#archiver = archiver;
  }

  /**
   * After a read that found nothing (begun at `started`, epoch ms): true when the caller should
   * read again — the session was an archived stub, now restored, or it changed since shortly
   * before the read began: another request may have restored it between the read (which saw the
   * stub's no items) and this look. Clocks of other instances may differ by up to RACE_MARGIN_MS.
   */
  async #readAgain(tenant: string, id: string, started: number): Promise<boolean> {
    const session = await this.inner.get(tenant, id);
    if (session.status === "archived") {
      await this.#archiver.restore(tenant, id);
      return true;
    }
    return session.updatedAt >= started - RACE_MARGIN_MS;
  }

  /** Repeats `run` after a restore when its `not_found` may have come from a stub's missing items. */
  async #orRestore<T>(tenant: string, id: string, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await run();
    } catch (error) {
      if (!isHoldfastError(error) || error.code !== "not_found") throw error;
      // A missing session stays this call's not_found; a failed restore is its own error.
      const session = await this.inner.get(tenant, id).catch(() => null);
      if (session === null) throw error;
      if (session.status === "archived") await this.#archiver.restore(tenant, id);
      else if (session.updatedAt < started - RACE_MARGIN_MS) throw error;
      return run();
    }
  }

  override async get(tenant: string, id: string): Promise<Session> {
    const session = await this.inner.get(tenant, id);
    if (session.status !== "archived") return session;
    return this.#archiver.restore(tenant, id).catch((failure: unknown) => {
      // No archive: a caller set the status and the items are all here; answer the session as it is.
      if (isHoldfastError(failure) && failure.code === "not_found") return session;
      throw failure;
    });
  }
  /** A fork copies items: a stub holds none, so it is restored first (forks are rare: one `get`). */
  override async fork(tenant: string, id: string, input?: ForkInput): Promise<Session> {
    await this.get(tenant, id);
    return this.inner.fork(tenant, id, input);
  }
  override async readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    const started = Date.now();
    const items = await this.inner.readItems(tenant, id, query);
    if (items.length > 0 || !(await this.#readAgain(tenant, id, started))) return items;
    return this.inner.readItems(tenant, id, query);
  }
  override getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    return this.#orRestore(tenant, id, () => this.inner.getItem(tenant, id, itemId));
  }
  override deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session> {
    return this.#orRestore(tenant, id, () => this.inner.deleteItem(tenant, id, itemId, options));
  }
  override async readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    const started = Date.now();
    const window = await this.inner.readWindow(tenant, id, query);
    if (window.items.length > 0 || !(await this.#readAgain(tenant, id, started))) return window;
    return this.inner.readWindow(tenant, id, query);
  }
  /**
   * Setting a stub's status back to `active` restores it first: the update alone would leave an
   * active session without its items (reads then find none and nothing restores it) and the
   * archive orphaned. The restore is this decorator's own write, so an `expectedVersion` naming
   * the stub's version is carried over to the restored session's.
   */
  override async update(
    tenant: string,
    id: string,
    patch: UpdateSessionInput,
    options: WriteOptions = {},
  ): Promise<Session> {
    if (patch?.status !== "active") return this.inner.update(tenant, id, patch, options);
    const stub = await this.inner.get(tenant, id);
    if (stub.status !== "archived") return this.inner.update(tenant, id, patch, options);
    let restored: Session;
    try {
      restored = await this.#archiver.restore(tenant, id);
    } catch (failure) {
      // No archive: a caller set the status and the items are all here.
      if (isHoldfastError(failure) && failure.code === "not_found") {
        return this.inner.update(tenant, id, patch, options);
      }
      throw failure;
    }
    const expectedVersion =
      options.expectedVersion === stub.version ? restored.version : options.expectedVersion;
    return this.inner.update(tenant, id, patch, { ...options, expectedVersion });
  }
  /** A deleted session leaves nothing behind: its archive (if it was a stub) goes with it. */
  override async delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    await this.inner.delete(tenant, id, options);
    await this.#archiver.backend.remove(tenant, id);
  }
  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    try {
      return await this.inner.append(tenant, id, items, options);
    } catch (error) {
      if (!isHoldfastError(error) || error.code !== "session_archived") throw error;
      await this.#archiver.restore(tenant, id).catch((failure: unknown) => {
        // No archive: a caller set the status (the items are all here); that is the caller's to undo.
        throw isHoldfastError(failure) && failure.code === "not_found" ? error : failure;
      });
      return this.inner.append(tenant, id, items, options);
    }
  }
}

/**
 * Wraps `store` so a session archived by the sweeper is restored from cold storage the first
 * time it is read (get, items, window) or appended to, and deletes a deleted session's archive. A
 * session that is not archived costs nothing extra, except a `get` after a read that found no
 * items (see ArchiveRestoringStore) and an archive removal (a no-op) after a delete.
 */
export function withArchives(store: SessionStore, archiver: Archiver): SessionStore {
  return new ArchiveRestoringStore(store, archiver);
}
