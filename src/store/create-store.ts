/**
 * `createStore(url | options)`: picks a driver by URL scheme and wraps it in the core.
 * Drivers are imported lazily so an app using SQLite never loads a Redis or Postgres client.
 */
import { createSessionStore, type StoreCoreOptions } from "./core.ts";
import type { StoreDriver } from "./driver.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { SessionStore } from "./types.ts";

export interface CreateStoreOptions extends StoreCoreOptions {
  /** Store URL: `memory:`, `sqlite:<path>`, `redis://…`, `postgres://…`. */
  url: string;
}

type DriverFactory = (url: string) => Promise<StoreDriver>;

const DRIVERS: Record<string, DriverFactory> = {
  "memory:": async () => (await import("./drivers/memory.ts")).createMemoryDriver(),
  "sqlite:": async (url) =>
    (await import("./drivers/sqlite.ts")).createSqliteDriver({ path: sqlitePath(url) }),
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
  const factory = DRIVERS[storeScheme(options.url)];
  if (!factory) {
    throw new InvalidArgumentError(
      `Unknown store URL '${options.url}': use one of ${Object.keys(DRIVERS).join(", ")} followed by its location.`,
      { param: "store" },
    );
  }
  return createSessionStore(await factory(options.url), options);
}
