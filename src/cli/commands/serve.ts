/**
 * `holdfast serve`: loads the configuration, opens the store, starts the HTTP server and
 * shuts both down cleanly on SIGINT/SIGTERM (exit 0).
 */
import { type Command, Option } from "commander";
import { loadServerConfig } from "../../config/load-config.ts";
import { LOG_LEVELS, redactStoreUrl } from "../../config/values.ts";
import { createGateway } from "../../engine/gateway.ts";
import { parseProvidersConfig } from "../../engine/providers/config.ts";
import { createProviderLayer } from "../../engine/providers/create-providers.ts";
import { createServer } from "../../server/create-server.ts";
import { createStore } from "../../store/create-store.ts";

interface ServeFlags {
  port?: string;
  host?: string;
  store?: string;
  bodyLimit?: string;
  logLevel?: string;
  config?: string;
}

function displayHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = await loadServerConfig({ flags, env: process.env, cwd: process.cwd() });
  const store = await createStore(config.store);
  const { providers, models, routes } = config.file;
  const layer = createProviderLayer(parseProvidersConfig({ providers, models, routes }));
  const gateway = createGateway({ store, providers: layer });
  const app = await createServer({
    store,
    gateway: { engine: gateway.engine, models: gateway.models },
    bodyLimit: config.bodyLimit,
    // Fastify's own "listening" lines are info-level; our one start-up line below replaces them.
    logger: { level: config.logLevel === "info" ? "warn" : config.logLevel },
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await gateway.close();
    await store.close();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new Error(
        `Port ${config.port} on ${config.host} is already in use; pick another with --port or HOLDFAST_PORT.`,
      );
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${displayHost(config.host)}:${port}`;
  if (config.logLevel !== "silent") {
    const upstreams = layer.config.providers.map((p) => p.name).join(", ");
    process.stdout.write(
      `holdfast listening on ${url} (store ${redactStoreUrl(config.store)}; providers: ${upstreams})\n`,
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal means "now": skip the graceful path.
      process.exit(1);
    }
    stopping = true;
    void (async () => {
      try {
        await app.close();
        await gateway.close();
        await store.close();
        if (config.logLevel !== "silent") process.stdout.write(`holdfast stopped (${signal})\n`);
        process.exit(0);
      } catch (error) {
        process.stderr.write(`holdfast: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      }
    })();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
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
    .option("--body-limit <size>", "largest request body, e.g. 1mb (env HOLDFAST_BODY_LIMIT, default 1mb)")
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
  $ holdfast serve --port 9000 --host 0.0.0.0
  $ holdfast serve --store memory:
  $ HOLDFAST_STORE=sqlite:/var/lib/holdfast/h.db holdfast serve
  $ npm start -- --port 9000`,
    )
    .action(serve);
}
