/**
 * `sqlite:<path>` — the embedded driver on `node:sqlite`. WAL with synchronous=NORMAL (an
 * acknowledged write survives a process kill), forward-only migrations, cached prepared
 * statements, and one writer with group commit (sqlite-writer.ts): concurrent writes share one
 * transaction. Reads run directly; the ones that need more than one statement run in a read
 * transaction so they see one snapshot even while other processes write the same file.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
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
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  sessionNotFound,
  versionConflict,
} from "../errors.ts";
import type { AppendResult, Item, Session } from "../types.ts";
import {
  listSql,
  preparedToItem,
  rowToItem,
  rowToSession,
  rowVisible,
  type SessionRow,
  SQL,
  sessionParams,
  windowRowsToItems,
} from "./sqlite-rows.ts";
import { migrate } from "./sqlite-schema.ts";
import { GroupCommitWriter, retryBusy } from "./sqlite-writer.ts";

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
}

const DEFAULTS = { busyTimeoutMs: 5, busyDeadlineMs: 5000, maxBatch: 1000 };
/** Opening may wait longer: migrations and the WAL switch run once, before any request. */
const OPEN_BUSY_TIMEOUT_MS = 5000;

type Cell = string | number | null;

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

function isUniqueViolation(error: unknown): boolean {
  return (error as { errcode?: unknown }).errcode === 2067;
}

class SqliteDriver implements StoreDriver {
  readonly name = DRIVER_NAME;
  readonly #db: DatabaseSync;
  readonly #options: Readonly<Required<SqliteDriverOptions>>;
  readonly #writer: GroupCommitWriter;
  readonly #statements = new Map<string, StatementSync>();
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;

  constructor(options: Readonly<Required<SqliteDriverOptions>>) {
    this.#options = options;
    if (options.path !== ":memory:" && !options.path.startsWith("file:")) {
      mkdirSync(dirname(options.path), { recursive: true });
    }
    this.#db = new DatabaseSync(options.path, { timeout: OPEN_BUSY_TIMEOUT_MS });
    try {
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = NORMAL");
      migrate(this.#db, options.path);
      this.#db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs}`);
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#begin = this.#stmt("BEGIN");
    this.#commit = this.#stmt("COMMIT");
    this.#writer = new GroupCommitWriter(this.#db, {
      busyDeadlineMs: options.busyDeadlineMs,
      maxBatch: options.maxBatch,
    });
  }

  #stmt(sql: string): StatementSync {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /** The same statement returning rows as arrays (cheaper for many rows). */
  #arrays(sql: string): StatementSync {
    const key = `arrays:${sql}`;
    let stmt = this.#statements.get(key);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      stmt.setReturnArrays(true);
      this.#statements.set(key, stmt);
    }
    return stmt;
  }

  /** A read of several statements, in one snapshot; retried asynchronously while the file is locked. */
  #read<T>(run: () => T): Promise<T> {
    return retryBusy(() => {
      this.#begin.run();
      try {
        const value = run();
        this.#commit.run();
        return value;
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    }, this.#options.busyDeadlineMs);
  }

  #row(tenant: string, id: string): SessionRow | undefined {
    return this.#stmt(SQL.sessionByKey).get(tenant, id) as SessionRow | undefined;
  }

  #visible(tenant: string, id: string, now: number): SessionRow {
    const row = this.#row(tenant, id);
    if (!row || !rowVisible(row, now)) throw sessionNotFound(id);
    return row;
  }

  #checkVersion(row: SessionRow, expected: number | undefined): void {
    if (expected !== undefined && row.version !== expected)
      throw versionConflict(row.id, expected, row.version);
  }

  /** Inserts items after `seq`/`cumTokens`; a duplicate item id is a conflict (the savepoint undoes the rest). */
  #insertItems(
    rid: number,
    sessionId: string,
    items: PreparedItem[],
    seq: number,
    cumTokens: number,
  ): number {
    const insert = this.#stmt(SQL.insertItem);
    let bytes = 0;
    for (const p of items) {
      seq += 1;
      cumTokens += p.tokens;
      bytes += p.bytes;
      try {
        insert.run(
          rid,
          seq,
          p.id,
          p.type,
          p.role,
          p.status,
          p.callId,
          p.contentJson,
          p.tokens,
          cumTokens,
          p.bytes,
          p.turnId,
          p.createdAt,
        );
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new ConflictError(`Item id '${p.id}' already exists in session '${sessionId}'.`, {
          param: "items.id",
          cause: error,
        });
      }
    }
    return bytes;
  }

  #insertSession(session: Session, itemBytes: number): number {
    try {
      const result = this.#stmt(SQL.insertSession).run(...sessionParams(session, { itemBytes }));
      return Number(result.lastInsertRowid);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ConflictError(`A session with id '${session.id}' already exists.`, {
        param: "id",
        cause: error,
      });
    }
  }

  #sessionByRid(rid: number): Session {
    return rowToSession(this.#stmt(SQL.sessionByRid).get(rid) as unknown as SessionRow);
  }

  createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    return this.#writer.write(() => {
      let tokens = 0;
      let bytes = 0;
      for (const p of items) {
        tokens += p.tokens;
        bytes += p.bytes;
      }
      const row: Session = {
        ...session,
        itemCount: items.length,
        tokenCount: tokens,
        version: session.version + (items.length > 0 ? 1 : 0),
      };
      const rid = this.#insertSession(row, bytes);
      this.#insertItems(rid, session.id, items, 0, 0);
      return this.#sessionByRid(rid);
    });
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return retryBusy(() => {
      const row = this.#row(tenant, id);
      return row && rowVisible(row, now) ? rowToSession(row) : null;
    }, this.#options.busyDeadlineMs);
  }

  listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    const { sql, params } = listSql(query);
    params.tenant = tenant;
    return retryBusy(() => {
      const rows = this.#stmt(sql).all(params) as unknown as SessionRow[];
      return rows.map(rowToSession);
    }, this.#options.busyDeadlineMs);
  }

  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session> {
    return this.#writer.write(() => {
      const row = this.#visible(tenant, id, write.now);
      this.#checkVersion(row, write.expectedVersion);
      const c = changes;
      const updated = this.#stmt(SQL.updateSession).get(
        c.owner !== undefined ? c.owner : row.owner,
        c.metadata !== undefined ? JSON.stringify(c.metadata) : row.metadata,
        c.labels !== undefined ? JSON.stringify(c.labels) : row.labels,
        c.state !== undefined ? JSON.stringify(c.state) : row.state,
        c.idleTtlMs !== undefined ? c.idleTtlMs : row.idle_ttl_ms,
        c.expiresAt !== undefined ? c.expiresAt : row.expires_at,
        c.pinned !== undefined ? Number(c.pinned) : row.pinned,
        c.status !== undefined ? c.status : row.status,
        write.now,
        row.rid,
      ) as unknown as SessionRow;
      return rowToSession(updated);
    });
  }

  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    return this.#writer.write(() => {
      const row = this.#visible(tenant, id, write.now);
      this.#checkVersion(row, write.expectedVersion);
      this.#stmt(SQL.deleteItems).run(row.rid);
      this.#stmt(SQL.deleteOperations).run(row.rid);
      this.#stmt(SQL.deleteSession).run(row.rid);
    });
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    return this.#writer.write(() => {
      const row = this.#visible(tenant, id, options.now);
      const opId = options.operationId;
      if (opId !== undefined) {
        const done = this.#stmt(SQL.operation).get(row.rid, opId) as
          | { payload_hash: string; version: number; first_seq: number; last_seq: number }
          | undefined;
        if (done) return this.#replay(row, opId, done, options.payloadHash);
      }
      this.#checkVersion(row, options.expectedVersion);
      const firstSeq = row.item_count + 1;
      let tokens = row.token_count;
      for (const p of items) tokens += p.tokens;
      const bytes = this.#insertItems(row.rid, id, items, row.item_count, row.token_count);
      const version = row.version + 1;
      const lastSeq = row.item_count + items.length;
      this.#stmt(SQL.bumpAfterAppend).run(
        version,
        lastSeq,
        tokens,
        row.item_bytes + bytes,
        options.now,
        options.now,
        row.rid,
      );
      if (opId !== undefined) {
        this.#stmt(SQL.insertOperation).run(
          row.rid,
          opId,
          options.payloadHash,
          version,
          firstSeq,
          lastSeq,
          options.now,
        );
      }
      return {
        version,
        firstSeq,
        lastSeq,
        replayed: false,
        items: items.map((p, i) => preparedToItem(p, firstSeq + i)),
      };
    });
  }

  #replay(
    row: SessionRow,
    opId: string,
    done: { payload_hash: string; version: number; first_seq: number; last_seq: number },
    payloadHash: string,
  ): AppendResult {
    if (done.payload_hash !== payloadHash) {
      throw new ConflictError(`Operation id '${opId}' was already used with a different payload.`, {
        param: "operation_id",
        code: "idempotency_conflict",
      });
    }
    const rows = this.#arrays(SQL.itemsAsc).all(
      row.rid,
      done.first_seq - 1,
      done.last_seq + 1,
      10_000,
    ) as unknown as Cell[][];
    return {
      version: done.version,
      firstSeq: done.first_seq,
      lastSeq: done.last_seq,
      replayed: true,
      items: rows.map(rowToItem),
    };
  }

  readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    return this.#read(() => {
      const row = this.#visible(tenant, id, now);
      const sql = query.order === "desc" ? SQL.itemsDesc : SQL.itemsAsc;
      const rows = this.#arrays(sql).all(
        row.rid,
        query.afterSeq ?? 0,
        query.beforeSeq ?? Number.MAX_SAFE_INTEGER,
        query.limit,
      ) as unknown as Cell[][];
      return rows.map(rowToItem);
    });
  }

  getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    return this.#read(() => {
      const row = this.#visible(tenant, id, now);
      const item = this.#arrays(SQL.itemById).get(row.rid, itemId) as Cell[] | undefined;
      if (!item) throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
      return rowToItem(item);
    });
  }

  readWindow(tenant: string, id: string, maxTokens: number, now: number): Promise<DriverWindow> {
    return this.#read(() => {
      const row = this.#visible(tenant, id, now);
      const floor = row.token_count - maxTokens;
      // The window starts after the first item whose running total reaches the floor: one index seek.
      let after = 0;
      if (floor > 0) {
        const start = this.#arrays(SQL.windowStart).get(row.rid, floor) as Cell[] | undefined;
        after = (start?.[0] as number | undefined) ?? row.item_count;
      }
      const rows = this.#arrays(SQL.windowItems).all(row.rid, after) as unknown as Cell[][];
      return { session: rowToSession(row), items: windowRowsToItems(rows, after + 1) };
    });
  }

  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    return this.#writer.write(() => {
      const parent = this.#visible(tenant, parentId, now);
      if (atSeq > parent.item_count) {
        throw new ConflictError(`Session '${parentId}' has fewer than ${atSeq} items.`, { param: "at_seq" });
      }
      const totals = this.#stmt(SQL.prefixTotals).get(parent.rid, atSeq) as { tokens: number; bytes: number };
      const rid = this.#insertSession(
        { ...child, itemCount: atSeq, tokenCount: totals.tokens },
        totals.bytes,
      );
      this.#stmt(SQL.copyPrefix).run(rid, parent.rid, atSeq);
      return this.#sessionByRid(rid);
    });
  }

  touch(tenant: string, id: string, now: number): Promise<Session> {
    return this.#writer.write(() => {
      const row = this.#visible(tenant, id, now);
      return rowToSession(this.#stmt(SQL.touch).get(now, row.rid) as unknown as SessionRow);
    });
  }

  async close(): Promise<void> {
    if (!this.#db.isOpen) return;
    await this.#writer.close();
    this.#statements.clear();
    this.#db.close();
  }
}

/** Opens (creating and migrating if needed) a SQLite session store file. */
export function createSqliteDriver(options: SqliteDriverOptions): StoreDriver {
  if (typeof options?.path !== "string" || options.path.length === 0) {
    throw new InvalidArgumentError("SQLite option path must be a file path or ':memory:'.", {
      param: "path",
    });
  }
  const resolved = Object.freeze({
    path: options.path,
    busyTimeoutMs: intOption(options.busyTimeoutMs, "busyTimeoutMs", DEFAULTS.busyTimeoutMs, 0),
    busyDeadlineMs: intOption(options.busyDeadlineMs, "busyDeadlineMs", DEFAULTS.busyDeadlineMs, 0),
    maxBatch: intOption(options.maxBatch, "maxBatch", DEFAULTS.maxBatch, 1),
  });
  return new SqliteDriver(resolved);
}
