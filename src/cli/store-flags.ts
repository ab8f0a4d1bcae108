/**
 * The store options every command shares (`--store`, `--config`, `--tenant`) and opening the
 * store they name, through the same configuration precedence as `serve`.
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { loadServerConfig } from "../config/load-config.ts";
import { createStoredTokenCounter } from "../engine/context/stored-tokens.ts";
import {
  atRestStoreOptions,
  encryptAtRest,
  isEncryptedStore,
  refuseEncryptedSessions,
} from "../security/at-rest.ts";
import { keyringFromEnv } from "../security/encryption/keyring.ts";
import { sealedStoreLimits } from "../security/encryption/sealed-limits.ts";
import { type CreateStoreOptions, createStore, sqlitePath, storeScheme } from "../store/create-store.ts";
import { NotFoundError } from "../store/errors.ts";
import type { Item, SessionStore } from "../store/types.ts";

export interface StoreFlags {
  store?: string;
  config?: string;
}

/** The file of an `sqlite:` URL that does not exist, else null (other schemes, `:memory:`). */
export function missingSqliteFile(url: string): string | null {
  if (storeScheme(url) !== "sqlite:") return null;
  const file = sqlitePath(url);
  return file === ":memory:" || existsSync(file) ? null : file;
}

/** The variable behind a store flag, for messages. */
const ENV_OF_FLAG: Record<string, string> = {
  "--store": " or HOLDFAST_STORE",
  "--archive": " or HOLDFAST_ARCHIVE",
};

/**
 * Reading must not create: an SQLite path that does not exist is a mistake, not an empty store.
 * `flag` is the option that named the URL (`--from` for migrate).
 */
export function assertStoreExists(url: string, flag = "--store"): void {
  const file = missingSqliteFile(url);
  if (file !== null) {
    const env = ENV_OF_FLAG[flag] ?? "";
    throw new NotFoundError(`No SQLite store at '${file}'; check ${flag}${env}.`, {
      param: flag.replace(/^--/, ""),
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

/**
 * Opens a store as `holdfast serve` does: items written without `tokens` (imports, compaction
 * summaries) are counted with serve's counter, not the store's bytes / 4 default, so a count does
 * not depend on which of the two wrote the item. Every command opens its stores through this, or
 * through `openContentStore` when it reads or writes session contents. This one is the plain
 * store: for commands that move rows without reading them (cleanup, migrate, doctor) and for the
 * system records (API keys, data keys), which live beside the sessions and are never encrypted.
 * The rows it moves may be sealed: it takes the sealed form of an item (state) at the limit.
 */
export function openStore(urlOrOptions: string | CreateStoreOptions): Promise<SessionStore> {
  const options = typeof urlOrOptions === "string" ? { url: urlOrOptions } : urlOrOptions;
  return createStore({ ...options, ...sealedStoreLimits(options), countTokens: createStoredTokenCounter() });
}

/**
 * Opens a store for a command that reads or writes session contents (state, items) as serve
 * does: with the keyring of HOLDFAST_KEYS or HOLDFAST_KEY_FILE its sessions are encrypted and
 * decrypted; without one, an encrypted session is refused rather than shown as ciphertext or
 * given plaintext. A malformed keyring is refused before the store is opened.
 */
export async function openContentStore(urlOrOptions: string | CreateStoreOptions): Promise<SessionStore> {
  const keyring = keyringFromEnv(process.env);
  const options = typeof urlOrOptions === "string" ? { url: urlOrOptions } : urlOrOptions;
  const countTokens = createStoredTokenCounter();
  const base = await createStore(atRestStoreOptions({ ...options, countTokens }, keyring));
  const limits = { maxItemBytes: options.maxItemBytes, maxStateBytes: options.maxStateBytes };
  return encryptAtRest(base, { keyring, countTokens, ...limits }) ?? refuseEncryptedSessions(base);
}

/**
 * An archived session's items as read from its archive backend, opened with the session's keys
 * when `store` encrypts: the archiver copies items sealed.
 */
export async function openArchived<T extends { items: Item[] }>(
  store: SessionStore,
  tenant: string,
  id: string,
  block: T,
): Promise<T> {
  return isEncryptedStore(store)
    ? { ...block, items: await store.openItems(tenant, id, block.items) }
    : block;
}

async function withOpened<T>(
  flags: StoreFlags,
  open: (url: string) => Promise<SessionStore>,
  run: (store: SessionStore) => Promise<T>,
  options: { mustExist?: boolean },
): Promise<T> {
  const url = await resolveStoreUrl(flags);
  if (options.mustExist) assertStoreExists(url);
  const store = await open(url);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/**
 * Opens the plain store (`openStore`), runs `run`, closes it. `mustExist` refuses to create a
 * missing SQLite file.
 */
export function withStore<T>(
  flags: StoreFlags,
  run: (store: SessionStore) => Promise<T>,
  options: { mustExist?: boolean } = {},
): Promise<T> {
  return withOpened(flags, openStore, run, options);
}

/** As `withStore`, on the store `openContentStore` opens: for commands that read or write contents. */
export function withContentStore<T>(
  flags: StoreFlags,
  run: (store: SessionStore) => Promise<T>,
  options: { mustExist?: boolean } = {},
): Promise<T> {
  return withOpened(flags, openContentStore, run, options);
}

/** `--store` and `--config`, as `.option(...STORE_OPTION)`. */
export const STORE_OPTION = [
  "-s, --store <url>",
  "store URL (env HOLDFAST_STORE, default sqlite:./data/holdfast.db)",
] as const;
export const CONFIG_OPTION = [
  "-c, --config <file>",
  "JSON or YAML config file (env HOLDFAST_CONFIG)",
] as const;

/** What the help of a command on session contents says of the keyring (`openContentStore`). */
export const KEYRING_HELP =
  "\nEncryption at rest: HOLDFAST_KEYS or HOLDFAST_KEY_FILE, the keyring `holdfast serve` uses; an encrypted\nsession is refused without it.";

/**
 * Adds `--store`, `--config` and (unless `tenant: false`) `--tenant` to a command, and the
 * keyring to its help: every command given these opens its store with `withContentStore`.
 */
export function storeOptions(command: Command, options: { tenant?: boolean } = {}): Command {
  command
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .addHelpText("after", KEYRING_HELP);
  return options.tenant === false ? command : command.option("-t, --tenant <tenant>", "tenant", "default");
}
