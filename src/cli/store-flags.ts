/**
 * The store options every command shares (`--store`, `--config`, `--tenant`) and opening the
 * store they name, through the same configuration precedence as `serve`.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadServerConfig } from "../config/load-config.ts";
import { createStore, sqlitePath, storeScheme } from "../store/create-store.ts";
import { NotFoundError } from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";

export interface StoreFlags {
  store?: string;
  config?: string;
}

/** Reading must not create: an SQLite path that does not exist is a mistake, not an empty store. */
export function assertStoreExists(url: string): void {
  if (storeScheme(url) !== "sqlite:") return;
  const file = sqlitePath(url);
  if (file !== ":memory:" && !existsSync(file)) {
    throw new NotFoundError(`No SQLite store at '${file}'; check --store or HOLDFAST_STORE.`, {
      param: "store",
    });
  }
}

/** The store URL from flags > env > config file > default. */
export async function resolveStoreUrl(flags: StoreFlags): Promise<string> {
  const config = await loadServerConfig({
    flags: { store: flags.store, config: flags.config },
    env: process.env,
  });
  return config.store;
}

/** Opens the store, runs `run`, closes it. `mustExist` refuses to create a missing SQLite file. */
export async function withStore<T>(
  flags: StoreFlags,
  run: (store: SessionStore) => Promise<T>,
  options: { mustExist?: boolean } = {},
): Promise<T> {
  const url = await resolveStoreUrl(flags);
  if (options.mustExist) assertStoreExists(url);
  const store = await createStore(url);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** Adds `--store`, `--config` and (unless `tenant: false`) `--tenant` to a command. */
export function storeOptions(command: Command, options: { tenant?: boolean } = {}): Command {
  command
    .option("-s, --store <url>", "store URL (env HOLDFAST_STORE, default sqlite:./data/holdfast.db)")
    .option("-c, --config <file>", "JSON or YAML config file (env HOLDFAST_CONFIG)");
  return options.tenant === false ? command : command.option("-t, --tenant <tenant>", "tenant", "default");
}
