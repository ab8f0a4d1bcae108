/**
 * `sqlite:<path>` — the embedded driver on `node:sqlite`. WAL with synchronous=NORMAL (an
 * acknowledged write survives a process kill), forward-only migrations (sqlite-schema.ts),
 * cached prepared statements, and one writer with group commit (sqlite-writer.ts): concurrent
 * writes share one transaction. Reads run directly; those needing more than one statement run
 * in a read transaction, so they see one snapshot even while other processes write the file.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type {
  DriverAppend,
  DriverListQuery,
  DriverReadQuery,
  DriverWindow,
  DriverWrite,
  PreparedItem,
  SessionChanges,
  StoreDriver,
} from "../driver.ts";
import { InvalidArgumentError, NotFoundError, UnavailableError } from "../errors.ts";
import type { AppendResult, Item, Session, SessionHeadInfo, SessionStatus } from "../types.ts";
import { SqliteCheckpointer } from "./sqlite-checkpointer.ts";
import { closeDatabase, databaseLocation, isDatabaseOpen, rollbackIfOpen } from "./sqlite-compat.ts";
import { deleteSqliteItems } from "./sqlite-item-delete.ts";
import { createSqliteLifecycle } from "./sqlite-lifecycle.ts";
import { openSqliteFile, sqliteOpenError } from "./sqlite-open.ts";
import {
  arrayToRow,
  type Cell,
  listSql,
  rowToItem,
  rowToSession,
  rowVisible,
  SQL,
  windowItemsExcludingSql,
  windowRowsToItems,
} from "./sqlite-rows.ts";
import { migrate } from "./sqlite-schema.ts";
import { SqliteStatements } from "./sqlite-statements.ts";
import { WriteGate } from "./sqlite-write-gate.ts";
import { GroupCommitWriter, retryBusy } from "./sqlite-writer.ts";
import { SqliteWrites } from "./sqlite-writes.ts";

export const DRIVER_NAME = "sqlite";

export interface SqliteDriverOptions {
  /** Database file, or `:memory:`. Parent directories are created. */
  path: string;
  /**
   * How long one SQLite call may block the event loop waiting for another process's lock
   * (ms, default 5). Longer waits happen asynchronously, see `busyDeadlineMs`.
   */
  busyTimeoutMs?: number;
  /** How long a read or a write batch keeps retrying a locked database before `unavailable` (ms, default 5000). */
  busyDeadlineMs?: number;
  /** Most writes committed in one transaction (default 1000). */
  maxBatch?: number;
  /**
   * WAL size (pages of 4 KiB) that triggers an automatic checkpoint (default 1000, SQLite's own).
   * Larger values copy hot pages to the database file less often, at the price of a bigger WAL.
   */
  checkpointPages?: number;
  /**
   * Where WAL checkpoints run (file databases). `background` (default): on a worker thread with
   * its own connection, started by the first write — never inside a live COMMIT on the event
   * loop; the WAL restarts once it holds `checkpointPages`. `inline`: SQLite's automatic
   * checkpoint inside the COMMIT that crosses `checkpointPages`.
   */
  checkpoint?: "background" | "inline";
}

const DEFAULTS = {
  busyTimeoutMs: 5,
  busyDeadlineMs: 5000,
  maxBatch: 1000,
  checkpointPages: 1000,
  checkpoint: "background" as const,
};
/** The inline checkpoint behind the background one fires at this multiple of `checkpointPages`. */
const BACKSTOP_FACTOR = 8;
/** Opening may wait longer: the WAL switch and migrations run once, before any request. */
const OPEN_BUSY_TIMEOUT_MS = 5000;

function intOption(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `SQLite option ${name} must be an integer ≥ ${min} (got ${String(value)}).`,
      {
        param: name,
      },
    );
  }
  return value;
}

function checkpointOption(value: unknown): "background" | "inline" {
  if (value === undefined) return DEFAULTS.checkpoint;
  if (value !== "background" && value !== "inline") {
    throw new InvalidArgumentError(
      `SQLite option checkpoint must be "background" or "inline" (got ${JSON.stringify(value)}).`,
      { param: "checkpoint" },
    );
  }
  return value;
}

class SqliteDriver implements StoreDriver {
  readonly name = DRIVER_NAME;
  readonly #db: DatabaseSync;
  readonly #options: Readonly<Required<SqliteDriverOptions>>;
  readonly #s: SqliteStatements;
  readonly #writes: SqliteWrites;
  readonly #writer: GroupCommitWriter;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #checkpointer: SqliteCheckpointer | null;

  constructor(options: Readonly<Required<SqliteDriverOptions>>) {
    this.#options = options;
    this.#db = openSqliteFile(options.path, OPEN_BUSY_TIMEOUT_MS);
    try {
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = NORMAL");
      // Savepoint journals of the group commit stay in memory instead of spilling to temp files.
      this.#db.exec("PRAGMA temp_store = MEMORY");
      migrate(this.#db, options.path);
      this.#db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
    } catch (error) {
      closeDatabase(this.#db);
      throw sqliteOpenError(options.path, error);
    }
    this.#s = new SqliteStatements(this.#db);
    this.#writes = new SqliteWrites(this.#s);
    this.#begin = this.#s.get("BEGIN");
    this.#commit = this.#s.get("COMMIT");
    // Hands SQLite's write lock over between this writer, the lifecycle's purge worker and the checkpointer.
    const gate = new WriteGate();
    const location = databaseLocation(this.#db);
    this.#checkpointer =
      location && options.checkpoint === "background"
        ? new SqliteCheckpointer(location, {
            gate,
            resetPages: options.checkpointPages,
            onStop: () => {
              // The worker died: this connection checkpoints by itself again.
              this.#checkpointerStopped = true;
              this.#autoCheckpoint(this.#autoCheckpointPages());
            },
            backstop: (on) => this.#autoCheckpoint(on ? this.#autoCheckpointPages() : 0),
          })
        : null;
    this.#autoCheckpoint(this.#autoCheckpointPages());
    // A WAL that grew past the backstop in a burst is cut back when it restarts.
    if (this.#checkpointer) {
      this.#db.exec(`PRAGMA journal_size_limit = ${options.checkpointPages * BACKSTOP_FACTOR * 4096}`);
    }
    this.#writer = new GroupCommitWriter(this.#db, {
      busyDeadlineMs: options.busyDeadlineMs,
      maxBatch: options.maxBatch,
      gate,
    });
    // The optional LifecycleCapable methods (driver.ts) live in sqlite-lifecycle.ts.
    Object.assign(
      this,
      createSqliteLifecycle({
        statements: this.#s,
        write: (job) => this.#write(job),
        read: (run) => this.#read(run),
        gate,
        // The background checkpointer turns this connection's backstop off while a purge runs.
        purgeRunning: (running) => this.#checkpointer?.purging(running),
      }),
    );
  }

  /**
   * This connection's `wal_autocheckpoint`. With the background checkpointer, a backstop at
   * BACKSTOP_FACTOR × `checkpointPages`: a starved worker (a saturated machine, a burst between
   * two of its runs) can let the WAL grow, never without bound.
   */
  #autoCheckpointPages(): number {
    const pages = this.#options.checkpointPages;
    return this.#checkpointer && !this.#checkpointerStopped ? pages * BACKSTOP_FACTOR : pages;
  }

  #checkpointerStopped = false;

  #autoCheckpoint(pages: number): void {
    if (isDatabaseOpen(this.#db)) this.#db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
  }

  /** Every write goes through here: the first one starts the background checkpointer. */
  #write<T>(job: () => T): Promise<T> {
    this.#checkpointer?.ensure();
    return this.#writer.write(job);
  }

  /** A read of one statement; retried asynchronously while the file is locked. */
  #read<T>(run: () => T): Promise<T> {
    if (!isDatabaseOpen(this.#db))
      return Promise.reject(new UnavailableError("The SQLite store is closed; open a new one."));
    return retryBusy(run, this.#options.busyDeadlineMs);
  }

  /** A read of several statements, in one snapshot. */
  #snapshot<T>(run: () => T): Promise<T> {
    return this.#read(() => {
      this.#begin.run();
      try {
        const value = run();
        this.#commit.run();
        return value;
      } catch (error) {
        rollbackIfOpen(this.#db);
        throw error;
      }
    });
  }

  createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    return this.#write(() => this.#writes.create(session, items));
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return this.#read(() => {
      const row = this.#s.row(tenant, id);
      return row && rowVisible(row, now) ? rowToSession(row) : null;
    });
  }

  /** SessionHeadCapable: the fields a cache validates a session by, without its JSON columns. */
  getSessionHead(tenant: string, id: string, now: number): Promise<SessionHeadInfo | null> {
    return this.#read(() => {
      const a = this.#s.arrays(SQL.stampByKey).get(tenant, id) as Cell[] | undefined;
      if (!a) return null;
      const [sid, version, itemCount, deleted, tokens, createdAt, status, lastActive, idleTtl, expiresAt] = a;
      const visible = rowVisible(
        {
          last_active_at: lastActive as number,
          idle_ttl_ms: idleTtl as number | null,
          expires_at: expiresAt as number | null,
        },
        now,
      );
      if (!visible) return null;
      return {
        id: sid as string,
        version: version as number,
        createdAt: createdAt as number,
        itemCount: (itemCount as number) - (deleted as number),
        lastSeq: itemCount as number,
        tokenCount: tokens as number,
        status: status as SessionStatus,
      };
    });
  }

  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    const { sql, params } = listSql(query);
    params.tenant = tenant;
    return this.#read(() =>
      (this.#s.arrays(sql).all(params) as unknown as Cell[][]).map((a) => rowToSession(arrayToRow(a))),
    );
  }

  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session> {
    return this.#write(() => this.#writes.update(tenant, id, changes, write));
  }

  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    return this.#write(() => this.#writes.delete(tenant, id, write));
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    return this.#write(() => this.#writes.append(tenant, id, items, options));
  }

  deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    return this.#write(() => deleteSqliteItems(this.#s, tenant, id, itemIds, write));
  }

  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    return this.#snapshot(() => {
      const head = this.#s.head(tenant, id, now);
      const sql = query.order === "desc" ? SQL.itemsDesc : SQL.itemsAsc;
      const after = query.afterSeq ?? 0;
      const before = query.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      const rows = this.#s.arrays(sql).all(head.rid, after, before, query.limit) as unknown as Cell[][];
      return rows.map(rowToItem);
    });
  }

  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    return this.#snapshot(() => {
      const head = this.#s.head(tenant, id, now);
      const row = this.#s.arrays(SQL.itemById).get(head.rid, itemId) as unknown as Cell[] | undefined;
      if (!row) throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
      return rowToItem(row);
    });
  }

  readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow> {
    return this.#snapshot(() => {
      // The head only: a window needs the counters, not the JSON columns of the session row.
      const head = this.#s.head(tenant, id, now);
      const floor = head.token_count - maxTokens;
      // The window starts after the first item whose running total reaches the floor: one index seek.
      let after = 0;
      if (floor > 0) {
        const start = this.#s.arrays(SQL.windowStart).get(head.rid, floor) as unknown as Cell[] | undefined;
        after = (start?.[0] as number | undefined) ?? head.item_count;
      }
      // item_count is the seq high-water mark; the session holds item_count - deleted_items items.
      const session = { version: head.version, itemCount: head.item_count - head.deleted_items };
      if (excludeTypes) {
        // Excluded rows are skipped by SQLite: their content is never copied out nor parsed.
        const rows = this.#s
          .arrays(windowItemsExcludingSql(excludeTypes.length))
          .all(head.rid, after, ...excludeTypes) as unknown as Cell[][];
        return { session, startSeq: after + 1, items: rows.map(rowToItem) };
      }
      if (head.deleted_items > 0) {
        // Seqs have gaps: each row brings its own.
        const rows = this.#s.arrays(SQL.windowItemsWithSeq).all(head.rid, after) as unknown as Cell[][];
        return { session, startSeq: after + 1, items: rows.map(rowToItem) };
      }
      const rows = this.#s.arrays(SQL.windowItems).all(head.rid, after) as unknown as Cell[][];
      return { session, startSeq: after + 1, items: windowRowsToItems(rows, after + 1) };
    });
  }

  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    return this.#write(() => this.#writes.fork(tenant, parentId, atSeq, child, now));
  }

  touch(tenant: string, id: string, now: number): Promise<Session> {
    return this.#write(() => this.#writes.touch(tenant, id, now));
  }

  renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    return this.#writer.write(() => this.#writes.renewClaim(tenant, id, holder, until, now));
  }

  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#writer.write(() => this.#writes.releaseClaim(tenant, id, holder));
  }

  #closed: Promise<void> | null = null;

  /**
   * Every call waits for the same close: a second call made while the first waited for queued
   * writes or the checkpointer used to pass the open check too, then close the closed handle
   * ("database is not open").
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    if (!isDatabaseOpen(this.#db)) return;
    await this.#writer.close();
    await this.#checkpointer?.stop();
    this.#s.clear();
    closeDatabase(this.#db);
  }
}

/** Opens (creating and migrating if needed) a SQLite session store file. */
export function createSqliteDriver(options: SqliteDriverOptions): StoreDriver {
  if (typeof options?.path !== "string" || options.path.length === 0) {
    throw new InvalidArgumentError("SQLite option path must be a file path or ':memory:'.", {
      param: "path",
    });
  }
  return new SqliteDriver(
    Object.freeze({
      path: options.path,
      busyTimeoutMs: intOption(options.busyTimeoutMs, "busyTimeoutMs", DEFAULTS.busyTimeoutMs, 0),
      busyDeadlineMs: intOption(options.busyDeadlineMs, "busyDeadlineMs", DEFAULTS.busyDeadlineMs, 0),
      maxBatch: intOption(options.maxBatch, "maxBatch", DEFAULTS.maxBatch, 1),
      checkpointPages: intOption(options.checkpointPages, "checkpointPages", DEFAULTS.checkpointPages, 1),
      checkpoint: checkpointOption(options.checkpoint),
    }),
  );
}
