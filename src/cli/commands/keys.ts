/**
 * `holdfast keys create|list|revoke|rotate|rotate-master`: API key administration and master-key
 * rotation, straight on a store through the security library (no server needed).
 */
import type { Command } from "commander";
import type { ApiKeyInfo } from "../../security/api-keys.ts";
import { createApiKeys } from "../../security/api-keys.ts";
import { rotateMasterKey } from "../../security/encryption/data-keys.ts";
import { keyringFromEnv, loadKeyringFile } from "../../security/encryption/keyring.ts";
import { createSystemRecords } from "../../security/system-records.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { intFlag } from "../flag-values.ts";
import { CONFIG_OPTION, STORE_OPTION, withStore } from "../store-flags.ts";
import { formatTable } from "./sessions.ts";

const DEFAULT_STORE = "sqlite:./data/holdfast.db";
/** Only `create` may start a new SQLite store; the others on a mistyped path exit 3. */
const EXISTING = { mustExist: true } as const;

interface StoreFlags {
  store?: string;
  config?: string;
  json?: boolean;
}

function iso(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function keyRow(key: ApiKeyInfo): string[] {
  const state = key.revoked
    ? "revoked"
    : key.expiresAt !== null && key.expiresAt <= Date.now()
      ? "expired"
      : "active";
  return [
    key.keyId,
    key.prefix,
    state,
    key.scopes.join(","),
    key.name ?? "-",
    iso(key.createdAt),
    iso(key.lastUsedAt),
  ];
}

function print(flags: StoreFlags, json: unknown, text: string): void {
  process.stdout.write(`${flags.json ? JSON.stringify(json, null, 2) : text}\n`);
}

/** Longest --expires-in-days and --grace-seconds: ten years. */
export const MAX_DAYS = 3650;
export const MAX_GRACE_SECONDS = MAX_DAYS * 86_400;

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command("keys")
    .description("Manage API keys (stored hashed) and rotate the encryption master key.")
    .addHelpText(
      "after",
      `
Examples:
  $ holdfast keys create --tenant acme --scopes conversations:read,conversations:write,responses --name backend
  $ holdfast keys list --tenant acme --json
  $ holdfast keys revoke key_0123456789abcdef01234567
  $ holdfast keys rotate key_0123456789abcdef01234567 --grace-seconds 3600
  $ HOLDFAST_KEYS="k2:<new base64>,k1:<old base64>" holdfast keys rotate-master

Scopes: conversations:read, conversations:write, responses, admin (admin implies all).
Store: --store URL, else HOLDFAST_STORE, else the config file's store (--config, HOLDFAST_CONFIG or
./holdfast.config.{json,yaml,yml}), else ${DEFAULT_STORE}.`,
    );

  keys
    .command("create")
    .description("Create an API key; its secret is printed once and never stored.")
    .requiredOption("--tenant <tenant>", "tenant the key belongs to")
    .requiredOption("--scopes <list>", "comma-separated scopes")
    .option("--name <name>", "a label for the key")
    .option("--expires-in-days <days>", "expire the key after this many days (1 to 3650)")
    .addHelpText(
      "after",
      `\nExample:\n  $ holdfast keys create --tenant acme --scopes conversations:read,conversations:write,responses --name backend`,
    )
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .option("--json", "print JSON")
    .action(
      async (
        flags: StoreFlags & { tenant: string; scopes: string; name?: string; expiresInDays?: string },
      ) => {
        // 0 would make a key born expired.
        const days =
          flags.expiresInDays === undefined
            ? undefined
            : intFlag(flags.expiresInDays, "--expires-in-days", 1, MAX_DAYS);
        const created = await withStore(flags, (store) =>
          createApiKeys({ records: createSystemRecords(store) }).create({
            tenant: flags.tenant,
            scopes: flags.scopes,
            ...(flags.name === undefined ? {} : { name: flags.name }),
            expiresAt: days === undefined ? null : Date.now() + days * 86_400_000,
          }),
        );
        print(
          flags,
          { secret: created.secret, ...created.key },
          `${created.secret}\n\nKey ${created.key.keyId} for tenant '${created.key.tenant}' (${created.key.scopes.join(", ")}).\nStore the secret now: Holdfast keeps only its hash and cannot show it again.`,
        );
      },
    );

  keys
    .command("list")
    .description("List a tenant's API keys (never their secrets).")
    .requiredOption("--tenant <tenant>", "tenant")
    .addHelpText("after", `\nExample:\n  $ holdfast keys list --tenant acme --json`)
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { tenant: string }) => {
      const list = await withStore(
        flags,
        (store) => createApiKeys({ records: createSystemRecords(store) }).list(flags.tenant),
        EXISTING,
      );
      print(
        flags,
        list,
        list.length === 0
          ? `No API keys for tenant '${flags.tenant}'.`
          : formatTable(
              ["KEY ID", "PREFIX", "STATE", "SCOPES", "NAME", "CREATED", "LAST USED"],
              list.map(keyRow),
            ),
      );
    });

  keys
    .command("revoke <keyId>")
    .description("Revoke an API key; every instance refuses it within a second.")
    .addHelpText("after", `\nExample:\n  $ holdfast keys revoke key_0123456789abcdef01234567`)
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .option("--json", "print JSON")
    .action(async (keyId: string, flags: StoreFlags) => {
      const key = await withStore(
        flags,
        (store) => createApiKeys({ records: createSystemRecords(store) }).revoke(keyId),
        EXISTING,
      );
      print(flags, key, `Revoked ${key.keyId} (${key.prefix}, tenant '${key.tenant}').`);
    });

  keys
    .command("rotate <keyId>")
    .description("Replace a key with a new secret (same tenant, scopes, name); the old one is revoked.")
    .option(
      "--grace-seconds <s>",
      "keep the old key valid this long instead of revoking it at once (0 to 315360000, ten years)",
    )
    .addHelpText(
      "after",
      `\nExample:\n  $ holdfast keys rotate key_0123456789abcdef01234567 --grace-seconds 3600`,
    )
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .option("--json", "print JSON")
    .action(async (keyId: string, flags: StoreFlags & { graceSeconds?: string }) => {
      const grace =
        flags.graceSeconds === undefined
          ? 0
          : intFlag(flags.graceSeconds, "--grace-seconds", 0, MAX_GRACE_SECONDS);
      const created = await withStore(
        flags,
        (store) =>
          createApiKeys({ records: createSystemRecords(store) }).rotate(keyId, { graceMs: grace * 1000 }),
        EXISTING,
      );
      print(
        flags,
        { secret: created.secret, replaced: keyId, ...created.key },
        `${created.secret}\n\nKey ${created.key.keyId} replaces ${keyId}${grace > 0 ? `, which stays valid for ${grace} s` : ", which is revoked"}.`,
      );
    });

  keys
    .command("rotate-master")
    .description(
      "Re-wrap every session data key under the newest master key (HOLDFAST_KEYS or HOLDFAST_KEY_FILE, newest first). Items are not touched.",
    )
    .option("--key-file <path>", "read the keyring from this file instead of the environment")
    .addHelpText(
      "after",
      `\nExample:\n  $ HOLDFAST_KEYS="k2:<new base64>,k1:<old base64>" holdfast keys rotate-master`,
    )
    .option(...STORE_OPTION)
    .option(...CONFIG_OPTION)
    .option("--json", "print JSON")
    .action(async (flags: StoreFlags & { keyFile?: string }) => {
      const keyring = flags.keyFile ? loadKeyringFile(flags.keyFile) : keyringFromEnv();
      if (!keyring) {
        throw new InvalidArgumentError(
          "No keyring: set HOLDFAST_KEYS='newkid:base64,oldkid:base64' (newest first) or HOLDFAST_KEY_FILE, or pass --key-file.",
        );
      }
      const result = await withStore(
        flags,
        (store) => rotateMasterKey({ records: createSystemRecords(store), keyring }),
        EXISTING,
      );
      print(
        flags,
        { activeKid: keyring.active.kid, ...result },
        `Re-wrapped ${result.rewrapped} of ${result.records} data keys under master key '${keyring.active.kid}'.`,
      );
    });
}
