/**
 * `holdfast doctor`: checks what `serve` would need — configuration, store reachability and
 * schema, providers and their API keys, API keys (or development mode), encryption keyring.
 */
import type { Command } from "commander";
import { parseServeSections } from "../../app-sections.ts";
import { loadServerConfig } from "../../config/load-config.ts";
import { redactStoreUrl } from "../../config/values.ts";
import { apiKeyOf, parseProvidersConfig, providersSectionOf } from "../../engine/providers/config.ts";
import { createSecurity } from "../../security/create-security.ts";
import { keyringFromEnv } from "../../security/encryption/keyring.ts";
import { hasActiveApiKeys } from "../../server/auth.ts";
import type { SessionStore } from "../../store/types.ts";
import { missingSqliteFile, openStore } from "../store-flags.ts";
import { formatTable } from "./sessions.ts";

interface Check {
  check: string;
  status: "ok" | "warn" | "fail" | "skipped";
  detail: string;
}

interface DoctorFlags {
  store?: string;
  config?: string;
  host?: string;
  json?: boolean;
}

async function attempt(
  checks: Check[],
  name: string,
  run: () => Promise<string | { warn: string }>,
): Promise<boolean> {
  try {
    const result = await run();
    checks.push(
      typeof result === "string"
        ? { check: name, status: "ok", detail: result }
        : { check: name, status: "warn", detail: result.warn },
    );
    return true;
  } catch (error) {
    checks.push({ check: name, status: "fail", detail: (error as Error).message });
    return false;
  }
}

/**
 * A check that cannot run because one it needs failed: still listed, saying which, so the list
 * (and `--json`) always has every check in the same order.
 */
function skip(checks: Check[], name: string, because: string): void {
  checks.push({ check: name, status: "skipped", detail: `not checked: ${because}` });
}

export async function runDoctor(flags: DoctorFlags): Promise<Check[]> {
  const checks: Check[] = [];
  let config: Awaited<ReturnType<typeof loadServerConfig>> | undefined;
  await attempt(checks, "config", async () => {
    config = await loadServerConfig({
      flags: { store: flags.store, config: flags.config, host: flags.host },
      env: process.env,
    });
    // The sections serve refuses to start with (providers and the keyring have their own rows).
    parseServeSections(config, process.env);
    return config.configFile ? `loaded ${config.configFile}` : "defaults and environment (no config file)";
  });
  const cfg = config;
  if (cfg === undefined) {
    for (const name of ["store", "providers", "api keys"]) skip(checks, name, "the config check failed");
  } else {
    let store: SessionStore | undefined;
    try {
      const storeOk = await attempt(checks, "store", async () => {
        // A check must not create the SQLite file it checks (a mistyped path would then look fine).
        if (missingSqliteFile(cfg.store) !== null) {
          return {
            warn: `${redactStoreUrl(cfg.store)} does not exist yet: serve creates it on its first start`,
          };
        }
        store = await openStore(cfg.store);
        await store.list("default", { limit: 1 });
        return `${redactStoreUrl(cfg.store)} reachable (${store.driverName}), schema current`;
      });
      await attempt(checks, "providers", async () => {
        const parsed = parseProvidersConfig(providersSectionOf(cfg.file), process.env);
        for (const p of parsed.providers) apiKeyOf(p);
        const names = parsed.providers.map((p) => `${p.name} (${p.type})`).join(", ");
        return parsed.providers.length === 1 ? { warn: `only the built-in mock model: ${names}` } : names;
      });
      // The keys live in the store: one that cannot be read says nothing about them.
      if (!storeOk) skip(checks, "api keys", "the store check failed");
      else {
        const s = store;
        await attempt(checks, "api keys", async () => {
          if (s && (await hasActiveApiKeys(createSecurity({ store: s }))))
            return "at least one active key: authentication required";
          const loopback = /^(127\.|::1$|localhost$)/.test(cfg.host);
          if (!loopback)
            throw new Error(
              `no API keys and host ${cfg.host} is not loopback: serve will refuse without --insecure`,
            );
          return { warn: "no API keys: serve runs in development mode on loopback" };
        });
      }
    } finally {
      // Also one opened whose schema then failed the check.
      await (store as SessionStore | undefined)?.close();
    }
  }
  await attempt(checks, "encryption", async () => {
    const keyring = keyringFromEnv(process.env);
    return keyring
      ? `keyring with active key '${keyring.active.kid}'`
      : { warn: "off (set HOLDFAST_KEYS or HOLDFAST_KEY_FILE)" };
  });
  return checks;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("Check configuration, store reachability and schema, providers, API keys and encryption.")
    .option("-s, --store <url>", "store URL (env HOLDFAST_STORE, default sqlite:./data/holdfast.db)")
    .option("-c, --config <file>", "JSON or YAML config file (env HOLDFAST_CONFIG)")
    .option("-H, --host <host>", "the address serve would bind (env HOLDFAST_HOST)")
    .option("--json", "print the checks as JSON")
    .addHelpText(
      "after",
      "\nEvery check is listed: one that needs a check that failed is skipped, saying which.\nExit 1 when any check fails (warnings do not).\n\nExamples:\n  $ holdfast doctor\n  $ holdfast doctor --store postgres://postgres@127.0.0.1/test --json",
    )
    .action(async (flags: DoctorFlags) => {
      const checks = await runDoctor(flags);
      if (flags.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else
        process.stdout.write(
          `${formatTable(
            ["CHECK", "STATUS", "DETAIL"],
            checks.map((c) => [c.check, c.status, c.detail]),
          )}\n`,
        );
      if (checks.some((c) => c.status === "fail")) process.exitCode = 1;
    });
}
