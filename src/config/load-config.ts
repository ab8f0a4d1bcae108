/**
 * Server configuration from, in order of precedence: command-line flags, environment variables
 * (`HOLDFAST_*`), a config file (JSON or YAML: `--config`/`HOLDFAST_CONFIG`, else
 * `holdfast.config.{json,yaml,yml}` in the working directory), then defaults. The result is
 * validated and frozen; the raw file is kept so later features read their own sections.
 */
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { InvalidArgumentError } from "../store/errors.ts";
import { PROVIDER_SECTIONS } from "./sections.ts";
import {
  type LogLevel,
  parseBytes,
  parseHost,
  parseLogLevel,
  parsePort,
  parseStoreUrl,
  parseTrustProxy,
  type TrustProxy,
} from "./values.ts";

export const CONFIG_DEFAULTS = Object.freeze({
  port: 7430,
  host: "127.0.0.1",
  store: "sqlite:./data/holdfast.db",
  bodyLimit: 1 << 20,
  logLevel: "info" as LogLevel,
  trustProxy: false as TrustProxy,
});

export const CONFIG_FILE_NAMES = [
  "holdfast.config.json",
  "holdfast.config.yaml",
  "holdfast.config.yml",
] as const;

/**
 * Top-level sections a config file may hold. `server` and `store` are read here; the others by
 * their features (gateway, lifecycle, security…); `encryption` and `observability` by nothing
 * yet (UNREAD_SECTIONS).
 */
export const CONFIG_SECTIONS = [
  "server",
  "store",
  ...PROVIDER_SECTIONS,
  "gateway",
  "security",
  "rate_limits",
  "encryption",
  "lifecycle",
  "observability",
] as const;

/**
 * Sections nothing reads yet, with where the real settings are. One with content is refused: a
 * user who writes `encryption: { keys: … }` must not believe encryption is on.
 */
const UNREAD_SECTIONS: Readonly<Record<string, string>> = {
  encryption:
    "encryption at rest is turned on by the HOLDFAST_KEYS or HOLDFAST_KEY_FILE environment variable (docs/security.md)",
  observability:
    "the log level is server.log_level (--log-level, HOLDFAST_LOG_LEVEL) and /metrics takes a bearer token from HOLDFAST_METRICS_TOKEN (docs/observability.md)",
};

/** True for a section left empty (`encryption:`, `encryption: {}`): nothing a user could rely on. */
function isEmptySection(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

const SERVER_KEYS = ["port", "host", "body_limit", "log_level", "trust_proxy"] as const;

/** Flag values as commander hands them over (all optional strings). */
export interface ConfigFlags {
  port?: string;
  host?: string;
  store?: string;
  bodyLimit?: string;
  logLevel?: string;
  /** `--trust-proxy` alone is `true`; with a value, a hop count or addresses. */
  trustProxy?: string | boolean;
  config?: string;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: Record<string, string | undefined>;
  /** Where relative paths (config file) resolve from. Default `process.cwd()`. */
  cwd?: string;
}

export interface ServerConfig {
  port: number;
  host: string;
  store: string;
  bodyLimit: number;
  logLevel: LogLevel;
  /**
   * Fastify's `trustProxy`: whose `X-Forwarded-For` decides the client address. Default off
   * (always set by `loadServerConfig`; optional for configs built by hand).
   */
  trustProxy?: TrustProxy;
  /** The config file read, or null when none. */
  configFile: string | null;
  /** The whole parsed file (empty object when none), for sections other features own. */
  file: Readonly<Record<string, unknown>>;
}

async function readConfigFile(file: string, name: string | null): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "does not exist"
        : code === "EISDIR"
          ? "is a directory, not a file"
          : "cannot be read";
    throw new InvalidArgumentError(`${name ? `${name}: config` : "Config"} file '${file}' ${reason}.`, {
      param: "config",
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidArgumentError(
      `Config file '${file}' is not valid ${/\.json$/i.test(file) ? "JSON" : "YAML"}: ${(error as Error).message}`,
      {
        param: "config",
        cause: error,
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new InvalidArgumentError(
      `Config file '${file}' must hold an object with sections such as 'server' and 'store'.`,
      {
        param: "config",
      },
    );
  }
  const record = parsed as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(CONFIG_SECTIONS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(
        `Unknown section '${key}' in config file '${file}'; known sections: ${CONFIG_SECTIONS.join(", ")}.`,
        {
          param: "config",
        },
      );
    }
    const elsewhere = UNREAD_SECTIONS[key];
    if (elsewhere !== undefined && !isEmptySection(record[key])) {
      throw new InvalidArgumentError(
        `Section '${key}' in config file '${file}' is not read by Holdfast, so its settings would have no effect: ${elsewhere}. Remove the section.`,
        { param: key },
      );
    }
  }
  return record;
}

async function findDefaultFile(cwd: string): Promise<string | null> {
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = path.join(cwd, name);
    try {
      await access(candidate);
      return candidate;
    } catch {
      // not there; try the next name
    }
  }
  return null;
}

function fileServerSection(file: Record<string, unknown>, where: string): Record<string, unknown> {
  const server = file.server ?? {};
  if (typeof server !== "object" || server === null || Array.isArray(server)) {
    throw new InvalidArgumentError(`'server' in ${where} must be an object.`, { param: "config" });
  }
  for (const key of Object.keys(server)) {
    if (!(SERVER_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(
        `Unknown option 'server.${key}' in ${where}; known: ${SERVER_KEYS.join(", ")}.`,
        {
          param: "config",
        },
      );
    }
  }
  return server as Record<string, unknown>;
}

function fileStore(file: Record<string, unknown>, where: string): unknown {
  const store = file.store;
  // `store: { url }` leaves room for store options (encryption, cache) next to the URL. Without a
  // `url` (a typo such as `uri`), the default store would be used silently: the data lands elsewhere.
  if (typeof store === "object" && store !== null && !Array.isArray(store)) {
    const unknown = Object.keys(store).find((key) => key !== "url");
    if (unknown !== undefined || (store as { url?: unknown }).url === undefined) {
      throw new InvalidArgumentError(
        `${unknown === undefined ? "'store' needs a 'url'" : `Unknown option 'store.${unknown}'`} in ${where}; write store: "<url>" or store: { url: "<url>" }.`,
        { param: "store" },
      );
    }
    return (store as { url?: unknown }).url;
  }
  return store;
}

/** Loads, merges and validates the server options. Throws `invalid_argument` naming the setting at fault. */
export async function loadServerConfig(options: LoadConfigOptions = {}): Promise<ServerConfig> {
  const flags = options.flags ?? {};
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const explicit = flags.config ?? env.HOLDFAST_CONFIG;
  // Null: the file was found in the working directory, not named by anyone.
  const configName = flags.config !== undefined ? "--config" : explicit ? "HOLDFAST_CONFIG" : null;
  const configFile = explicit ? path.resolve(cwd, explicit) : await findDefaultFile(cwd);
  const file = configFile ? await readConfigFile(configFile, configName) : {};
  const where = `config file '${configFile}'`;
  const server = fileServerSection(file, where);

  // Each setting: the first source that has it wins, and its parser is told that source's name.
  const pick = <T>(
    flag: string | boolean | undefined,
    flagName: string,
    envName: string,
    fileValue: unknown,
    fileName: string,
    fallback: T,
    parse: (value: unknown, name: string) => T,
  ): T => {
    if (flag !== undefined) return parse(flag, flagName);
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== "") return parse(fromEnv, envName);
    if (fileValue !== undefined) return parse(fileValue, `${fileName} in ${where}`);
    return fallback;
  };

  const config: ServerConfig = {
    port: pick(
      flags.port,
      "--port",
      "HOLDFAST_PORT",
      server.port,
      "server.port",
      CONFIG_DEFAULTS.port,
      parsePort,
    ),
    host: pick(
      flags.host,
      "--host",
      "HOLDFAST_HOST",
      server.host,
      "server.host",
      CONFIG_DEFAULTS.host,
      parseHost,
    ),
    store: pick(
      flags.store,
      "--store",
      "HOLDFAST_STORE",
      fileStore(file, where),
      "store",
      CONFIG_DEFAULTS.store,
      parseStoreUrl,
    ),
    bodyLimit: pick(
      flags.bodyLimit,
      "--body-limit",
      "HOLDFAST_BODY_LIMIT",
      server.body_limit,
      "server.body_limit",
      CONFIG_DEFAULTS.bodyLimit,
      (value, name) => parseBytes(value, name, 1024, 1 << 30),
    ),
    logLevel: pick(
      flags.logLevel,
      "--log-level",
      "HOLDFAST_LOG_LEVEL",
      server.log_level,
      "server.log_level",
      CONFIG_DEFAULTS.logLevel,
      parseLogLevel,
    ),
    trustProxy: pick(
      flags.trustProxy,
      "--trust-proxy",
      "HOLDFAST_TRUST_PROXY",
      server.trust_proxy,
      "server.trust_proxy",
      CONFIG_DEFAULTS.trustProxy,
      parseTrustProxy,
    ),
    configFile,
    file: Object.freeze(file),
  };
  return Object.freeze(config);
}
