/**
 * The Postgres driver's connections: a `pg` pool with every timeout set, failures typed
 * (`unavailable` for anything network- or server-state-related), reads retried once on a
 * dropped connection, transactions on one connection, and a close that lets calls in flight
 * finish first (ending a pg pool under a waiting checkout would strand that caller forever).
 */
import pg from "pg";
import { HoldfastError, UnavailableError } from "../errors.ts";
import {
  describeStartupError,
  isCheckoutWait,
  isConnectionError,
  PoolExhaustedError,
  toStoreError,
} from "./postgres-errors.ts";
import type { ResolvedPostgresOptions } from "./postgres-options.ts";
import { type MigrationResult, migratePostgres } from "./postgres-schema.ts";

export type Query = { name?: string; text: string; values?: unknown[] };
export type Row = Record<string, unknown>;

const INT8_OID = 20;
/** Epoch-ms and counters fit a double; parse int8 as a number for this pool only (not globally). */
const TYPES = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? Number : pg.types.getTypeParser(oid, format),
};

export class PostgresConnections {
  readonly #pool: pg.Pool;
  readonly #options: ResolvedPostgresOptions;
  #closing = false;
  #inflight = 0;
  /** Connections checked out and connected (not those still opening): the pool is exhausted at poolSize. */
  #busy = 0;
  #drained: (() => void) | undefined;

  constructor(options: ResolvedPostgresOptions) {
    this.#options = options;
    this.#pool = new pg.Pool({
      connectionString: options.pgConnectionString,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      query_timeout: options.queryTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      // A transaction left open by a crashed caller must not hold its row locks for long.
      idle_in_transaction_session_timeout: options.statementTimeoutMs,
      application_name: options.applicationName,
      keepAlive: true,
      types: TYPES,
    });
    // An idle connection dropped by the server (restart, pg_terminate_backend) is reported here;
    // the pool discards it and opens a new one on demand. Without a listener it would crash us.
    this.#pool.on("error", (error) => options.onIdleError(error));
  }

  /** First connection and schema migration; failures name their cause and close the pool. */
  async migrate(): Promise<MigrationResult> {
    let client: pg.PoolClient | undefined;
    const onLost = (): void => {
      // The migration's statement fails with the cause (see #withClient).
    };
    try {
      client = await this.#pool.connect();
      client.on("error", onLost);
      const result = await migratePostgres(client, this.#options.schema);
      client.off("error", onLost);
      client.release();
      return result;
    } catch (error) {
      client?.off("error", onLost);
      client?.release(true);
      this.#closing = true;
      await this.#pool.end().catch(() => {});
      throw describeStartupError(error, this.#options.target, this.#options.statementTimeoutMs);
    }
  }

  /** Runs `fn` on one pooled connection; connection failures discard it and surface as `unavailable`. */
  async with<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closing) throw new UnavailableError("The Postgres store is closed.");
    this.#inflight += 1;
    try {
      return await this.#withClient(fn);
    } finally {
      this.#inflight -= 1;
      if (this.#inflight === 0) this.#drained?.();
    }
  }

  async #withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      // Full of busy connections, not of ones still opening (a network that is down): say so.
      if (isCheckoutWait(error) && this.#busy >= this.#options.poolSize) {
        const { target, poolSize, connectTimeoutMs } = this.#options;
        throw new PoolExhaustedError(target, poolSize, connectTimeoutMs, error);
      }
      throw toStoreError(error, this.#options.target);
    }
    this.#busy += 1;
    // pg emits 'error' on a checked-out client whose connection drops (even while a statement
    // runs, which fails too); the pool listens only while the client is idle, and an 'error'
    // event nobody listens to would crash the process. The failed statement reports the loss.
    let lost: Error | undefined;
    const onLost = (error: Error): void => {
      lost = error;
    };
    client.on("error", onLost);
    try {
      const result = await fn(client);
      client.off("error", onLost);
      this.#busy -= 1;
      client.release(lost);
      return result;
    } catch (error) {
      client.off("error", onLost);
      this.#busy -= 1;
      client.release(lost ?? (isConnectionError(error) ? (error as Error) : undefined));
      throw toStoreError(error, this.#options.target);
    }
  }

  async query(query: Query): Promise<Row[]> {
    return this.with(async (c) => (await c.query(query)).rows);
  }

  /**
   * A read may be retried once on a dropped connection: it changes nothing. Not when the pool was
   * exhausted: a second wait in the same queue would double the caller's wait and the queue.
   */
  async read(query: Query): Promise<Row[]> {
    try {
      return await this.query(query);
    } catch (error) {
      if (!(error instanceof HoldfastError && error.code === "unavailable") || this.#closing) throw error;
      if (error instanceof PoolExhaustedError) throw error;
      return this.query(query);
    }
  }

  /** BEGIN … COMMIT on one connection; any failure rolls back. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.with(async (c) => {
      await c.query("BEGIN");
      try {
        const result = await fn(c);
        await c.query("COMMIT");
        return result;
      } catch (error) {
        if (!isConnectionError(error)) await c.query("ROLLBACK").catch(() => {});
        throw error;
      }
    });
  }

  /** Lets calls in flight finish, then ends the pool. New calls get `unavailable`. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    await this.#pool.end();
  }
}
