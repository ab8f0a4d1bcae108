/**
 * `createStore(url | options)`: picks a driver by URL scheme and wraps it in the core.
 * Drivers are imported lazily so an app using SQLite never loads a Redis or Postgres client.
 */
import { createSessionStore, type StoreCoreOptions } from "./core.ts";
import { isReplicaTarget, type StoreDriver } from "./driver.ts";
import { InvalidArgumentError } from "./errors.ts";
import { createTieredDriver } from "./tiered.ts";
import type { SessionStore } from "./types.ts";

export interface CreateStoreOptions extends StoreCoreOptions {
  /** Store URL: `memory:`, `sqlite:<path>`, `redis://…`, `postgres://…`. */
  url: string;
  /**
   * A durable tier behind `url` (e.g. `url: "redis://…", archive: "postgres://…"`): writes commit
   * here first, `url` becomes the hot tier holding replicas of active sessions.
   */
  archive?: string;
  /** With `archive`: how long an idle session stays in the hot tier. Default 15 minutes. */
  hotRetentionMs?: number;
}

type DriverFactory = (url: string) => Promise<StoreDriver>;

const DRIVERS: Record<string, DriverFactory> = {
  "memory:": async () => (await import("./drivers/memory.ts")).createMemoryDriver(),
  "sqlite:": async (url) =>
    (await import("./drivers/sqlite.ts")).createSqliteDriver({ path: sqlitePath(url) }),
  "postgres:": async (url) =>
    (await import("./drivers/postgres.ts")).createPostgresDriver({ connectionString: url }),
  "postgresql:": async (url) =>
    (await import("./drivers/postgres.ts")).createPostgresDriver({ connectionString: url }),
  "redis:": async (url) => (await import("./drivers/redis.ts")).createRedisDriver({ url }),
  "rediss:": async (url) => (await import("./drivers/redis.ts")).createRedisDriver({ url }),
  "redis+cluster:": async (url) => (await import("./drivers/redis.ts")).createRedisDriver({ url }),
  "rediss+cluster:": async (url) => (await import("./drivers/redis.ts")).createRedisDriver({ url }),
};

/** `sqlite:./data/x.db`, `sqlite:/abs/x.db`, `sqlite:///abs/x.db` and `sqlite::memory:` are accepted. */
export function sqlitePath(url: string): string {
  const rest = url.slice("sqlite:".length);
  if (rest.startsWith("//")) return rest.slice(2) || ":memory:";
  return rest || ":memory:";
}

/** Registers a driver for a URL scheme (e.g. `"redis:"`). Later registrations win. */
export function registerDriver(scheme: string, factory: DriverFactory): void {
  DRIVERS[scheme] = factory;
}

export function storeScheme(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:)/i.exec(url);
  return match?.[1]?.toLowerCase() ?? "";
}

export async function createStore(urlOrOptions: string | CreateStoreOptions): Promise<SessionStore> {
  const options = typeof urlOrOptions === "string" ? { url: urlOrOptions } : urlOrOptions;
  if (typeof options.url !== "string" || options.url.length === 0) {
    throw new InvalidArgumentError(
      "A store URL is required (e.g. 'sqlite:./data/holdfast.db' or 'memory:').",
      {
        param: "store",
      },
    );
  }
  // Refused before opening, which would create a SQLite file or schema for nothing.
  checkStoreUrls(options.url, options.archive);
  const hot = await openDriver(options.url, "store");
  if (options.archive === undefined) return createSessionStore(hot, options);
  if (!isReplicaTarget(hot)) {
    await hot.close();
    throw notHotTier(hot.name);
  }
  const durable = await openDriver(options.archive, "archive").catch(async (error) => {
    await hot.close();
    throw error;
  });
  const tiered = createTieredDriver({ hot, durable, hotRetentionMs: options.hotRetentionMs });
  return createSessionStore(tiered, options);
}

/** Schemes of the built-in drivers that cannot hold replicas (see `isReplicaTarget`), to their names. */
const NOT_HOT_TIERS: Readonly<Record<string, string>> = {
  "sqlite:": "sqlite",
  "postgres:": "postgres",
  "postgresql:": "postgres",
};

function notHotTier(driver: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `The '${driver}' driver cannot be a hot tier (it cannot hold replicas); use memory: or redis:// with --archive.`,
    { param: "store" },
  );
}

function driverFactory(url: string, param: string): DriverFactory {
  const factory = DRIVERS[storeScheme(url)];
  if (!factory) {
    throw new InvalidArgumentError(
      `Unknown store URL '${url}': use one of ${Object.keys(DRIVERS).join(", ")} followed by its location.`,
      { param },
    );
  }
  return factory;
}

/**
 * The refusals `createStore` makes without connecting: an unknown scheme, and a hot tier of a
 * driver known not to hold replicas. A caller that opens something else first (serve's archive
 * backend) makes them before that, so a refused start opens nothing.
 */
export function checkStoreUrls(url: string, archive?: string): void {
  const coldDriver = NOT_HOT_TIERS[storeScheme(url)];
  if (archive !== undefined && coldDriver !== undefined) throw notHotTier(coldDriver);
  driverFactory(url, "store");
  if (archive !== undefined) driverFactory(archive, "archive");
}

function openDriver(url: string, param: string): Promise<StoreDriver> {
  return driverFactory(url, param)(url);
}
