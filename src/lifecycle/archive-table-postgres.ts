/**
 * The `postgres` archive backend: archives as rows of `<schema>.holdfast_archives` (schema from
 * the URL's `?schema=`, default `holdfast`, so it can share the store's database). Each archive
 * is one row holding the compressed portable-format bytes, written with one upsert: readers see
 * the previous archive or the new one whole, and a sweeper that lost its lease mid-write cannot
 * leave a partial archive behind. The table comes from numbered migrations recorded in
 * `<schema>.holdfast_archive_migrations`, applied under an advisory lock so instances starting
 * together migrate once.
 */
import pg from "pg";
import type { PortableSessionBlock } from "../interop/portable/reader.ts";
import { InvalidArgumentError, UnavailableError } from "../store/errors.ts";
import type { Item, Session } from "../store/types.ts";
import type { ArchiveBackend, ArchiveWritten } from "./archive-backend.ts";
import {
  type ArchiveCompression,
  archiveNotFound,
  compressArchive,
  readArchiveData,
} from "./archive-format.ts";

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

function migrations(s: string): string[] {
  return [
    `CREATE TABLE ${s}.holdfast_archives (
      tenant text NOT NULL,
      session_id text NOT NULL,
      compression text NOT NULL,
      items integer NOT NULL,
      archived_at bigint NOT NULL,
      data bytea NOT NULL,
      PRIMARY KEY (tenant, session_id)
    )`,
    // The session's version in the archive: a restore removes only the archive it restored.
    `ALTER TABLE ${s}.holdfast_archives ADD COLUMN session_version bigint`,
  ];
}

/** The URL without credentials, for messages. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.password = "";
  copy.username = copy.username ? "…" : "";
  // URL encodes the ellipsis; messages show it as written.
  return copy.href.replace("%E2%80%A6", "…");
}

class PostgresArchiveBackend implements ArchiveBackend {
  readonly kind = "postgres";
  readonly location: string;
  readonly compression: ArchiveCompression;
  readonly #pool: pg.Pool;
  readonly #table: string;

  constructor(pool: pg.Pool, schema: string, where: string, compression: ArchiveCompression) {
    this.#pool = pool;
    this.#table = `"${schema}".holdfast_archives`;
    this.location = `Postgres ${where} (table ${schema}.holdfast_archives)`;
    this.compression = compression;
  }

  async write(driver: string, session: Session, items: AsyncIterable<Item>): Promise<ArchiveWritten> {
    const { data, items: count } = await compressArchive(this.compression, driver, session, items);
    // Never over an archive of a newer session version (see ArchiveBackend.write).
    const { rowCount } = await this.#pool.query(
      `INSERT INTO ${this.#table} AS a (tenant, session_id, compression, items, archived_at, data, session_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant, session_id) DO UPDATE SET compression = excluded.compression,
         items = excluded.items, archived_at = excluded.archived_at, data = excluded.data,
         session_version = excluded.session_version
       WHERE a.session_version IS NULL OR a.session_version <= excluded.session_version`,
      [session.tenant, session.id, this.compression, count, Date.now(), data, session.version],
    );
    return { written: rowCount === 1, compressedBytes: data.length, items: count };
  }

  async read(tenant: string, id: string): Promise<PortableSessionBlock> {
    const { rows } = await this.#pool.query<{ data: Buffer }>(
      `SELECT data FROM ${this.#table} WHERE tenant = $1 AND session_id = $2`,
      [tenant, id],
    );
    const data = rows[0]?.data;
    if (!data) throw archiveNotFound(id, this.location);
    return readArchiveData(
      (async function* () {
        yield data;
      })(),
      id,
      this.location,
    );
  }

  async remove(tenant: string, id: string, only?: { version: number }): Promise<void> {
    if (!only) {
      await this.#pool.query(`DELETE FROM ${this.#table} WHERE tenant = $1 AND session_id = $2`, [
        tenant,
        id,
      ]);
      return;
    }
    await this.#pool.query(
      `DELETE FROM ${this.#table} WHERE tenant = $1 AND session_id = $2
         AND (session_version IS NULL OR session_version = $3)`,
      [tenant, id, only.version],
    );
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** SQLSTATE classes of a connection that failed or went away, and of a server shutting down. */
const CONNECTION_LOST = /^(08|57P)/;

/** A migration that failed because the database went away is `unavailable`, naming the archive database. */
function migrationError(error: unknown, where: string): unknown {
  const code = (error as { code?: unknown }).code;
  const lost =
    (typeof code === "string" && CONNECTION_LOST.test(code)) ||
    /Connection terminated|ECONNRESET|EPIPE|not queryable/i.test(String((error as Error)?.message));
  if (!lost) return error;
  return new UnavailableError(
    `Lost the connection to the archive database ${where} while creating its table: ${(error as Error).message}. Check that the database is reachable and start again.`,
    { param: "lifecycle.archive.url", cause: error },
  );
}

/**
 * Connects to `url` (`postgres://…[?schema=name]`), applies pending migrations and returns the
 * backend; fails at once with a message naming the problem.
 */
export async function createPostgresArchiveBackend(
  url: string,
  compression: ArchiveCompression = "gzip",
): Promise<ArchiveBackend> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`lifecycle.archive.url '${url}' is not a postgres:// URL.`, {
      param: "lifecycle.archive.url",
    });
  }
  const schema = parsed.searchParams.get("schema") ?? "holdfast";
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new InvalidArgumentError(
      `lifecycle.archive.url: schema '${schema}' must be lowercase letters, digits and '_' (max 63), not starting with a digit.`,
      { param: "lifecycle.archive.url" },
    );
  }
  const connection = new URL(parsed.href);
  connection.searchParams.delete("schema");
  const where = redact(parsed);
  const pool = new pg.Pool({ connectionString: connection.href, max: 2, connectionTimeoutMillis: 5000 });
  pool.on("error", () => {}); // an idle connection dropped: the next query reconnects
  const s = `"${schema}"`;
  const client = await pool.connect().catch(async (error: Error) => {
    await pool.end();
    throw new UnavailableError(`Cannot reach the archive database ${where}: ${error.message}.`, {
      param: "lifecycle.archive.url",
      cause: error,
    });
  });
  // pg emits 'error' on a checked-out client whose connection drops (the pool listens only while
  // it is idle); unheard, the event crashed the process. The statement running fails with the cause.
  const onLost = (): void => {};
  client.on("error", onLost);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${schema}.holdfast_archives`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.holdfast_archive_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
    );
    const { rows } = await client.query<{ v: number }>(
      `SELECT coalesce(max(version), 0)::int AS v FROM ${s}.holdfast_archive_migrations`,
    );
    const steps = migrations(s);
    for (let v = rows[0]!.v; v < steps.length; v++) {
      await client.query(steps[v]!);
      await client.query(
        `INSERT INTO ${s}.holdfast_archive_migrations (version, applied_at) VALUES ($1, $2)`,
        [v + 1, Date.now()],
      );
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    client.off("error", onLost);
    client.release(true);
    await pool.end();
    throw migrationError(error, where);
  }
  client.off("error", onLost);
  client.release();
  return new PostgresArchiveBackend(pool, schema, where, compression);
}
