/**
 * `holdfast serve`: loads the configuration, opens the store, starts the HTTP server and
 * shuts both down cleanly on SIGINT/SIGTERM (exit 0), also when the signal comes during start-up.
 */
import { type Command, Option } from "commander";
import { createHoldfastApp, type HoldfastApp } from "../../app.ts";
import { loadServerConfig } from "../../config/load-config.ts";
import { LOG_LEVELS, parseStoreUrl, redactStoreUrl } from "../../config/values.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { listenError } from "../listen-error.ts";
import { identityProvidersNote, tieredStoreNotices } from "./serve-notices.ts";

interface ServeFlags {
  port?: string;
  host?: string;
  store?: string;
  bodyLimit?: string;
  logLevel?: string;
  trustProxy?: string | boolean;
  config?: string;
  archive?: string;
  insecure?: boolean;
  shutdownTimeout?: string;
}

const DEFAULT_SHUTDOWN_MS = 10_000;

/**
 * `--shutdown-timeout`, else `HOLDFAST_SHUTDOWN_TIMEOUT_MS` (empty counts as unset, as for every
 * variable), else the default; a bad value names the one it came from.
 */
export function shutdownTimeoutMs(flag: string | undefined, env: string | undefined): number {
  if (flag !== undefined) return milliseconds(flag, "--shutdown-timeout");
  if (env === undefined || env === "") return DEFAULT_SHUTDOWN_MS;
  return milliseconds(env, "HOLDFAST_SHUTDOWN_TIMEOUT_MS");
}

/**
 * `--archive`, else `HOLDFAST_ARCHIVE`; empty (either) is none. Checked as `--store` is, naming
 * the one it came from: it is printed on the "listening" line too.
 */
export function archiveUrl(flag: string | undefined, env: string | undefined): string | undefined {
  if (flag !== undefined && flag !== "") return parseStoreUrl(flag, "--archive");
  if (flag !== undefined || env === undefined || env === "") return undefined;
  return parseStoreUrl(env, "HOLDFAST_ARCHIVE");
}

function milliseconds(raw: string, name: string): number {
  const ms = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms > 600_000) {
    throw new InvalidArgumentError(
      `${name} must be a whole number of milliseconds from 0 to 600000 (got '${raw}').`,
      { param: "shutdown-timeout" },
    );
  }
  return ms;
}

function exitStopped(signal: NodeJS.Signals, note: string, quiet: boolean): never {
  if (!quiet) process.stdout.write(`holdfast stopped (${signal}${note})\n`);
  process.exit(0);
}

function displayHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

async function serve(flags: ServeFlags): Promise<void> {
  // Signal handlers first: a supervisor may stop the process while the store still connects or
  // migrates, and that stop is as clean as any other (exit 0), not a kill by the signal (143).
  const startup = new AbortController();
  let running: { holdfast: HoldfastApp; shutdownMs: number; quiet: boolean } | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal means "now": skip the graceful path.
      process.exit(1);
    }
    stopping = true;
    // Still starting: the start-up below stops, closes what it opened and exits.
    if (!running) {
      startup.abort(signal);
      return;
    }
    const { holdfast, shutdownMs, quiet } = running;
    void (async () => {
      try {
        const aborted = await holdfast.shutdown(shutdownMs);
        const note = aborted > 0 ? `; ${aborted} turn(s) cut short and saved as incomplete` : "";
        exitStopped(signal, note, quiet);
      } catch (error) {
        process.stderr.write(`holdfast: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      }
    })();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const config = await loadServerConfig({ flags, env: process.env, cwd: process.cwd() });
  const archive = archiveUrl(flags.archive, process.env.HOLDFAST_ARCHIVE);
  const shutdownMs = shutdownTimeoutMs(flags.shutdownTimeout, process.env.HOLDFAST_SHUTDOWN_TIMEOUT_MS);
  const quiet = config.logLevel === "silent";
  const stoppedDuringStartup = (): never =>
    exitStopped(startup.signal.reason as NodeJS.Signals, " during start-up", quiet);
  let holdfast: HoldfastApp;
  try {
    holdfast = await createHoldfastApp({
      config,
      ...(archive ? { archive } : {}),
      insecure: flags.insecure === true,
      signal: startup.signal,
    });
  } catch (error) {
    if (startup.signal.aborted) stoppedDuringStartup();
    throw error;
  }
  const { app } = holdfast;
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // Not started: the SQLite files this start created go too, as for a failure inside the app.
    await holdfast.discard();
    if (startup.signal.aborted) stoppedDuringStartup();
    throw listenError(error, config.host, config.port, { port: "HOLDFAST_PORT", host: "HOLDFAST_HOST" });
  }
  // Stopped while binding: the start never said it is listening, so it ends like a start stopped
  // (or failed) earlier, removing the SQLite files it created — unless a request was served on
  // the port meanwhile (discard keeps them then). Once the "listening" line is out, they stay.
  if (startup.signal.aborted) {
    await holdfast.discard();
    stoppedDuringStartup();
  }
  // Before the "listening" line: a supervisor may signal as soon as it reads it.
  running = { holdfast, shutdownMs, quiet };
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${displayHost(config.host)}:${port}`;
  if (config.logLevel !== "silent") {
    const store = redactStoreUrl(config.store) + (archive ? ` > ${redactStoreUrl(archive)}` : "");
    process.stdout.write(
      `holdfast listening on ${url} (store ${store}${holdfast.encrypted ? ", encrypted" : ""}; providers: ${holdfast.providers.join(", ")}${identityProvidersNote(holdfast.identityProviders)})\n`,
    );
    for (const notice of [...holdfast.notices, ...tieredStoreNotices(config.store, archive)])
      process.stderr.write(`holdfast: warning: ${notice}\n`);
    if (holdfast.mode === "development") {
      process.stdout.write(
        `holdfast: DEVELOPMENT MODE: no API keys exist, so requests without one act for tenant 'default' with full access. To require authentication, create a key (it takes effect within a second): holdfast keys create --store ${redactStoreUrl(config.store)} --tenant default --scopes conversations:read,conversations:write,responses\n`,
      );
    } else if (holdfast.mode === "insecure") {
      process.stdout.write(
        `holdfast: INSECURE: serving ${config.host} without any API key because --insecure was given.\n`,
      );
    }
  }
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description(
      "Start the gateway: OpenAI-compatible /v1/responses, /v1/chat/completions, /v1/conversations, /v1/models, plus Holdfast extensions.",
    )
    .option("-p, --port <port>", "port to listen on; 0 picks a free one (env HOLDFAST_PORT, default 7430)")
    .option("-H, --host <host>", "address to bind (env HOLDFAST_HOST, default 127.0.0.1)")
    .option("-s, --store <url>", "store URL (env HOLDFAST_STORE, default sqlite:./data/holdfast.db)")
    .option("--archive <url>", "durable tier behind --store, which becomes a hot tier (env HOLDFAST_ARCHIVE)")
    .option("--insecure", "allow binding a non-loopback address without any API key")
    .option(
      "--shutdown-timeout <ms>",
      "on SIGTERM/SIGINT, how long turns in flight may finish before they are cut short and saved as incomplete (env HOLDFAST_SHUTDOWN_TIMEOUT_MS, default 10000)",
    )
    .option("--body-limit <size>", "largest request body, e.g. 1mb (env HOLDFAST_BODY_LIMIT, default 1mb)")
    .option(
      "--trust-proxy [hops|addresses]",
      "behind a reverse proxy: take the client address from X-Forwarded-For — alone trusts every hop; a hop count, or the proxies' addresses/CIDRs comma-separated (env HOLDFAST_TRUST_PROXY, default off)",
    )
    .addOption(
      new Option("--log-level <level>", "log level (env HOLDFAST_LOG_LEVEL, default info)").choices(
        LOG_LEVELS,
      ),
    )
    .option(
      "-c, --config <file>",
      "JSON or YAML config file (env HOLDFAST_CONFIG, default ./holdfast.config.{json,yaml,yml})",
    )
    .addHelpText(
      "after",
      `
Precedence: flags > environment > config file > defaults.

Examples:
  $ holdfast serve
  $ holdfast serve --port 9000 --host 0.0.0.0          # needs an API key (holdfast keys create) or --insecure
  $ holdfast serve --store redis://127.0.0.1:6379 --archive postgres://postgres@127.0.0.1/test
  $ HOLDFAST_KEYS="k1:$(openssl rand -base64 32)" holdfast serve   # encryption at rest
  $ holdfast serve --store memory:
  $ holdfast serve --host 0.0.0.0 --trust-proxy 10.0.0.0/8   # behind a reverse proxy on 10.x
  $ HOLDFAST_STORE=sqlite:/var/lib/holdfast/h.db holdfast serve
  $ npm start -- --port 9000`,
    )
    .action(serve);
}
