/**
 * `postgres://` — sessions in PostgreSQL through a `pg` connection pool. Appends are one
 * round trip to a server-side function that locks the session row, checks the operation id
 * and version, inserts the batch and bumps the counters in one transaction (concurrent
 * appends share one transaction and one WAL flush, see postgres-append.ts); reads are single
 * statements served by indexes. Every call is bounded by timeouts, and a database that is
 * down or unreachable answers `unavailable` instead of hanging. Update and delete writes that
 * guard the session row live in postgres-guarded-writes.ts.
 */
import type {
  DriverAppend,
  DriverListQuery,
  DriverReadQuery,
  DriverWindow,
  DriverWrite,
  PreparedItem,
  SessionChanges,
  SessionHeadCapable,
  StoreDriver,
} from "../driver.ts";
import { ConflictError, NotFoundError, sessionNotFound } from "../errors.ts";
import type { AppendResult, Item, Session, SessionHeadInfo } from "../types.ts";
import { APPEND_LANES, PostgresAppender } from "./postgres-append.ts";
import {
  clampInt,
  deleteItemRows,
  deleteSessionRows,
  type GuardedWriteContext,
  MAX_INT,
  updateSessionRow,
} from "./postgres-guarded-writes.ts";
import { createPostgresLifecycle } from "./postgres-lifecycle.ts";
import {
  type PostgresDriverOptions,
  type ResolvedPostgresOptions,
  resolvePostgresOptions,
} from "./postgres-options.ts";
import { PostgresConnections } from "./postgres-pool.ts";
import { type MigrationResult, quoteIdent } from "./postgres-schema.ts";
import {
  buildListQuery,
  buildStatements,
  itemColumns,
  type Statements,
  toItem,
  toItemList,
  toSession,
  toSessionHead,
} from "./postgres-sql.ts";
import { PostgresStatsKeeper } from "./postgres-stats.ts";
import { sessionBytes } from "./shared.ts";

export type { PostgresDriverOptions } from "./postgres-options.ts";

export const DRIVER_NAME = "postgres";

/** A Postgres driver also reports what its start-up migration did. */
export interface PostgresDriver extends StoreDriver, SessionHeadCapable {
  readonly migration: MigrationResult;
  /** The schema holding this store's tables. */
  readonly schema: string;
  /** Combined appends: batches of more than one append sent, and the appends they carried. */
  readonly appendStats: { batches: number; combined: number };
}

class PgDriver implements PostgresDriver {
  readonly name = DRIVER_NAME;
  readonly #db: PostgresConnections;
  readonly #options: ResolvedPostgresOptions;
  readonly #sql: Statements;
  readonly #s: string;
  readonly #appender: PostgresAppender;
  readonly #stats: PostgresStatsKeeper;
  readonly #guarded: GuardedWriteContext;
  #migration: MigrationResult = { from: 0, to: 0, applied: 0 };

  constructor(options: ResolvedPostgresOptions) {
    this.#options = options;
    this.#db = new PostgresConnections(options);
    this.#s = quoteIdent(options.schema);
    this.#sql = buildStatements(this.#s);
    this.#guarded = { db: this.#db, sql: this.#sql, s: this.#s };
    this.#appender = new PostgresAppender({
      query: (q) => this.#db.query(q),
      read: (q) => this.#db.read(q),
      maxInFlight: Math.min(options.poolSize, APPEND_LANES),
      sql: this.#sql,
    });
    this.#stats = new PostgresStatsKeeper({
      run: (q) => this.#db.query(q),
      quotedSchema: this.#s,
      schema: options.schema,
    });
    // The optional LifecycleCapable methods (driver.ts) live in postgres-lifecycle.ts.
    Object.assign(
      this,
      createPostgresLifecycle({
        query: (q) => this.#db.query(q),
        read: (q) => this.#db.read(q),
        quotedSchema: this.#s,
      }),
    );
  }

  get migration(): MigrationResult {
    return this.#migration;
  }

  get appendStats(): { batches: number; combined: number } {
    return this.#appender.stats;
  }

  get schema(): string {
    return this.#options.schema;
  }

  async start(): Promise<void> {
    try {
      this.#migration = await this.#db.migrate();
    } catch (error) {
      this.#stats.stop();
      throw error;
    }
    void this.#stats.check();
  }

  async createSession(session: Session, items: PreparedItem[]): Promise<Session> {
    const tokenCount = items.reduce((n, p) => n + p.tokens, 0);
    const itemBytes = items.reduce((n, p) => n + p.bytes, 0);
    const version = session.version + (items.length > 0 ? 1 : 0);
    const stateJson = JSON.stringify(session.state);
    const [ids, ...cols] = itemColumns(items);
    this.#stats.noteWrites(items.length + 1);
    await this.#db.query({
      name: "hf_create",
      text: this.#sql.createSession,
      values: [
        session.tenant,
        session.id,
        session.owner,
        JSON.stringify(session.metadata),
        session.labels,
        stateJson,
        version,
        tokenCount,
        ids,
        session.createdAt,
        session.updatedAt,
        session.lastActiveAt,
        session.idleTtlMs,
        session.expiresAt,
        session.status,
        session.pinned,
        session.forkParent?.sessionId ?? null,
        session.forkParent?.atSeq ?? null,
        itemBytes,
        ...cols,
      ],
    });
    return {
      ...structuredClone(session),
      version,
      itemCount: items.length,
      lastSeq: items.length,
      tokenCount,
      bytes: sessionBytes(itemBytes, stateJson),
    };
  }

  /** One visible session's row by a named statement taking (tenant, id, now), mapped; null if none. */
  async #sessionRow<T>(
    name: string,
    text: string,
    tenant: string,
    id: string,
    now: number,
    map: (row: Record<string, unknown>) => T,
  ): Promise<T | null> {
    const rows = await this.#db.read({ name, text, values: [tenant, id, now] });
    return rows[0] ? map(rows[0]) : null;
  }

  getSession(tenant: string, id: string, now: number): Promise<Session | null> {
    return this.#sessionRow("hf_get", this.#sql.getSession, tenant, id, now, toSession);
  }

  /**
   * SessionHeadCapable: the columns a cache validates a session by (an encrypted window read
   * asks for them every turn), without the JSON columns `getSession` reads and parses.
   */
  getSessionHead(tenant: string, id: string, now: number): Promise<SessionHeadInfo | null> {
    return this.#sessionRow("hf_session_head", this.#sql.getSessionHead, tenant, id, now, toSessionHead);
  }

  async listSessions(tenant: string, query: DriverListQuery): Promise<Session[]> {
    const rows = await this.#db.read(buildListQuery(this.#s, tenant, query));
    return rows.map(toSession);
  }

  updateSession(tenant: string, id: string, changes: SessionChanges, write: DriverWrite): Promise<Session> {
    return updateSessionRow(this.#guarded, tenant, id, changes, write);
  }

  deleteSession(tenant: string, id: string, write: DriverWrite): Promise<void> {
    return deleteSessionRows(this.#guarded, tenant, id, write);
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    this.#stats.noteWrites(items.length + 1);
    return this.#appender.append(tenant, id, items, options);
  }

  async readItems(tenant: string, id: string, query: DriverReadQuery, now: number): Promise<Item[]> {
    const order = query.order === "desc" ? "desc" : "asc";
    const rows = await this.#db.read({
      name: `hf_read_${order}`,
      text: this.#sql.readItems(order),
      values: [
        tenant,
        id,
        now,
        clampInt(query.afterSeq ?? 0),
        clampInt(query.beforeSeq ?? MAX_INT),
        query.limit,
      ],
    });
    if (rows.length === 0) throw sessionNotFound(id);
    return toItemList(rows[0]!.items);
  }

  async getItem(tenant: string, id: string, itemId: string, now: number): Promise<Item> {
    const rows = await this.#db.read({
      name: "hf_get_item",
      text: this.#sql.getItem,
      values: [tenant, id, now, itemId],
    });
    const row = rows[0];
    if (!row) throw sessionNotFound(id);
    if (row.i_seq === null)
      throw new NotFoundError(`No item '${itemId}' in session '${id}'.`, { param: "item_id" });
    return toItem(row, "i_");
  }

  async readWindow(
    tenant: string,
    id: string,
    maxTokens: number,
    now: number,
    excludeTypes?: readonly string[],
  ): Promise<DriverWindow> {
    const rows = await this.#db.read({
      name: "hf_window",
      text: this.#sql.readWindow,
      values: [tenant, id, now, maxTokens],
    });
    const first = rows[0];
    if (!first) throw sessionNotFound(id);
    const session = toSession(first);
    const items = toItemList(first.items);
    // The range starts at the first item whose running total reaches the floor; the window
    // begins just after it (the same rule as the memory driver's binary search).
    // Seqs may have gaps (deleted items): the range starts just after the boundary item's seq.
    let startSeq = 1;
    if (session.tokenCount - maxTokens > 0) startSeq = (items.shift()?.seq ?? session.lastSeq) + 1;
    // Excluded types are filtered after decoding here (the SQLite driver skips them in SQL).
    const kept = excludeTypes ? items.filter((item) => !excludeTypes.includes(item.type)) : items;
    return { session, startSeq, items: kept };
  }

  async fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Promise<Session> {
    const stateJson = JSON.stringify(child.state);
    this.#stats.noteWrites(atSeq + 1);
    const rows = await this.#db.query({
      name: "hf_fork",
      text: this.#sql.fork,
      values: [
        tenant,
        parentId,
        now,
        atSeq,
        child.id,
        child.owner,
        JSON.stringify(child.metadata),
        child.labels,
        stateJson,
        child.version,
        child.createdAt,
        child.updatedAt,
        child.lastActiveAt,
        child.idleTtlMs,
        child.expiresAt,
        child.status,
        child.pinned,
      ],
    });
    const r = rows[0] ?? {};
    if (r.parents === 0) throw sessionNotFound(parentId);
    if (r.token_count === null || r.token_count === undefined) {
      throw new ConflictError(`Session '${parentId}' has no seq ${atSeq}.`, { param: "at_seq" });
    }
    return {
      ...structuredClone(child),
      itemCount: atSeq - (r.deleted_items as number),
      lastSeq: atSeq,
      tokenCount: r.token_count as number,
      bytes: sessionBytes(r.item_bytes as number, stateJson),
    };
  }

  deleteItems(tenant: string, id: string, itemIds: string[], write: DriverWrite): Promise<Session> {
    this.#stats.noteWrites(itemIds.length + 1);
    return deleteItemRows(this.#guarded, tenant, id, itemIds, write);
  }

  async touch(tenant: string, id: string, now: number): Promise<Session> {
    const rows = await this.#db.query({ name: "hf_touch", text: this.#sql.touch, values: [tenant, id, now] });
    if (!rows[0]) throw sessionNotFound(id);
    return toSession(rows[0]);
  }

  async renewClaim(tenant: string, id: string, holder: string, until: number, now: number): Promise<boolean> {
    const rows = await this.#db.query({
      name: "hf_renew_claim",
      text: this.#sql.renewClaim,
      values: [tenant, id, holder, until, now],
    });
    return rows.length > 0;
  }

  async releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    await this.#db.query({
      name: "hf_release_claim",
      text: this.#sql.releaseClaim,
      values: [tenant, id, holder],
    });
  }

  async close(): Promise<void> {
    this.#stats.stop();
    // Appends already queued are sent and settle first; a closing pool would refuse them.
    await this.#appender.close();
    await this.#db.close();
  }
}

/**
 * Connects, migrates the schema (serialized across instances) and returns the driver. Fails
 * here, with a message naming the cause, when the host, credentials or database are wrong.
 */
export async function createPostgresDriver(options: PostgresDriverOptions): Promise<PostgresDriver> {
  const driver = new PgDriver(resolvePostgresOptions(options));
  await driver.start();
  return driver;
}
