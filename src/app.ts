/**
 * The composition root of `holdfast serve`: store (optionally tiered and encrypted), security
 * (keys, tokens, rate limits; development mode only on loopback without keys), the provider
 * layer and the gateway, and the HTTP server over all of it. The CLI only calls this.
 */

import { existsSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { admittedTurnWrite, compactToFit } from "./app-quota-room.ts";
import { openServeRateLimits } from "./app-rate-limits.ts";
import { parseAppSections } from "./app-sections.ts";
import type { ServerConfig } from "./config/load-config.ts";
import { createStoredTokenCounter } from "./engine/context/stored-tokens.ts";
import { createGateway, type Gateway } from "./engine/gateway.ts";
import { createProviderLayer } from "./engine/providers/create-providers.ts";
import { type ArchivedItemsReader, archivedItemsReader } from "./lifecycle/archive-peek.ts";
import {
  type Archiver,
  createArchiver,
  createFileActionLog,
  createSweeper,
  openArchiveBackend,
  type Sweeper,
  sqliteArchiveFile,
  withArchives,
  withQuotas,
} from "./lifecycle/index.ts";
import { lifecycleNotices } from "./lifecycle/startup-notices.ts";
import {
  createMetrics,
  loggingOptions,
  observeRouter,
  observeStorage,
  observeSweeper,
  observeWindowCache,
  recordCompaction,
  recordTurn,
  registerMetrics,
  registerRequestLogging,
  registerTracing,
  withProviderMetrics,
  withStoreMetrics,
} from "./observability/index.ts";
import { atRestStoreOptions, encryptAtRest } from "./security/at-rest.ts";
import { createSecurity } from "./security/create-security.ts";
import { hasActiveApiKeys } from "./server/auth.ts";
import { createServer } from "./server/create-server.ts";
import { noteMissingFiles, sqliteStoreFile } from "./start-files.ts";
import { checkStoreUrls, createStore, storeScheme } from "./store/create-store.ts";
import { driverOf } from "./store/decorators/delegating-store.ts";
import { isLifecycleCapable } from "./store/driver.ts";
import { InvalidArgumentError } from "./store/errors.ts";
import type { SessionStore } from "./store/types.ts";
import { servedTenants } from "./ui/served-tenants.ts";
import { registerDashboard } from "./ui/server.ts";
import { unlessAborted } from "./unless-aborted.ts";

export interface HoldfastAppOptions {
  config: ServerConfig;
  /** A durable tier behind `config.store` (`--archive`). */
  archive?: string;
  /** Allow binding a non-loopback address without any API key. */
  insecure?: boolean;
  env?: Record<string, string | undefined>;
  /**
   * Aborting it stops the start at once (a SIGTERM while the store connects): what was opened is
   * closed and the promise rejects with the signal's reason, without waiting for a stuck connect.
   */
  signal?: AbortSignal;
}

export interface HoldfastApp {
  app: FastifyInstance;
  store: SessionStore;
  gateway: Gateway;
  /**
   * `development` (no keys nor identity providers, loopback), `insecure` (the same off loopback,
   * told so) or `secure` (every request needs a credential).
   */
  mode: "development" | "insecure" | "secure";
  encrypted: boolean;
  providers: string[];
  /** The identity providers of `security.oidc_providers`, for serve's start-up line. */
  identityProviders: { issuer: string; tenant: string }[];
  /** Start-up warnings about the configuration (serve prints them to stderr). */
  notices: string[];
  /**
   * Graceful stop: stop accepting, let turns and streams in flight finish for up to `deadlineMs`,
   * then abort the rest (their partial output is committed as incomplete), then close the
   * gateway's pools and the store (flushing pending writes). Resolves with the turns aborted.
   */
  shutdown(deadlineMs: number): Promise<number>;
  close(): Promise<void>;
  /**
   * For a start that fails or is stopped after this returned (its `listen`): closes everything,
   * then removes the SQLite store and archive files (and directories) this start created, as a
   * start failing in here does — unless the app has served a request, which may have written to
   * them (they are kept then). Files that existed before are left as they were.
   */
  discard(): Promise<void>;
}

/** After the shutdown deadline, how long aborted turns' answers get to go out before connections are cut. */
const SHUTDOWN_GRACE_MS = 1000;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

function noKeysError(host: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Refusing to serve ${host} without API keys: create one with 'holdfast keys create --tenant <t> --scopes responses,conversations:read,conversations:write', configure an identity provider (security.oidc_providers), bind to 127.0.0.1, or pass --insecure.`,
    { param: "host" },
  );
}

/** A store URL that names nothing existing (`memory:`, a SQLite file not yet there): it holds no API keys. */
function isNewStore(url: string): boolean {
  const scheme = storeScheme(url);
  if (scheme === "memory:") return true;
  if (scheme !== "sqlite:") return false;
  const file = sqliteStoreFile(url);
  return file === null || !existsSync(file);
}

export async function createHoldfastApp(options: HoldfastAppOptions): Promise<HoldfastApp> {
  const { config } = options;
  const env = options.env ?? process.env;
  const closers: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const fn of [...closers].reverse()) await fn().catch(() => {});
  };
  // Every config section (and the keyring) is checked before the store is opened: a mistake found
  // after it would stop the start having already created a new SQLite file (or schema) for nothing.
  const sections = parseAppSections(config, env);
  const { lifecycle, rateLimitRedis, keyring, providers: providersConfig } = sections;
  const { windowCacheBytes, ...busy } = sections.gateway;
  const { oidcProviders } = sections.security;
  // Configured identity providers are a way in that needs no API key: their users authenticate,
  // so the server requires a credential from the start (no development mode, whatever the bind).
  const identityProviders = oidcProviders.length > 0;
  const loopback = LOOPBACK.test(config.host);
  const mustHaveKeys = !loopback && !options.insecure && !identityProviders;
  // The refusals that need no connection come before anything is opened or created.
  checkStoreUrls(config.store, options.archive);
  // A store that does not exist yet holds no keys: refused before it would be created for nothing.
  // With --archive the keys are the durable tier's (the tiered store lists from it), whatever the
  // hot tier holds: a new durable tier is refused without connecting to the hot one.
  if (mustHaveKeys && isNewStore(options.archive ?? config.store)) throw noKeysError(config.host);
  const { signal } = options;
  signal?.throwIfAborted();
  // What a start that fails further on must remove: the SQLite files it would create.
  const created = noteMissingFiles([
    sqliteStoreFile(config.store),
    ...(options.archive ? [sqliteStoreFile(options.archive)] : []),
    sqliteArchiveFile(lifecycle.archive),
  ]);
  try {
    // The archive backend first: a wrong archive URL must not leave a new store file behind.
    // Opened for every store: all built-in drivers can sweep (a custom one that cannot leaves it unused).
    const archives = await unlessAborted(openArchiveBackend(lifecycle.archive), signal, (opened) =>
      opened.backend.close(),
    );
    closers.push(() => archives.backend.close());
    const countTokens = createStoredTokenCounter();
    // With a keyring the store holds sealed items, larger than the plaintext the limits are about.
    const storeOptions = {
      url: config.store,
      ...(options.archive ? { archive: options.archive } : {}),
      countTokens,
    };
    const base = await unlessAborted(
      createStore(atRestStoreOptions(storeOptions, keyring)),
      signal,
      (opened) => opened.close(),
    );
    closers.push(() => base.close());
    const security = createSecurity({ store: base, oidcProviders });
    const keyed = await unlessAborted(hasActiveApiKeys(security), signal);
    if (!keyed && mustHaveKeys) throw noKeysError(config.host);
    const authenticated = keyed || identityProviders;
    const metrics = createMetrics();
    // The decorator counts the plaintext itself (the store sees ciphertext): the same counter.
    const encrypted = encryptAtRest(base, { keyring, countTokens });
    const measured = withStoreMetrics(encrypted ?? base, metrics, {
      turnsFromRecords: true,
    });

    // Lifecycle: the sweeper works on the plain store (it moves rows, not plaintext) and runs only
    // where the driver can scan, purge and lease (memory, SQLite, Postgres, Redis, tiered over a capable durable tier).
    const driver = driverOf(base);
    let cleanup: { sweeper: Sweeper; archiver: Archiver; archivedItems: ArchivedItemsReader } | undefined;
    let store: SessionStore = measured;
    // The quotas' compaction hook needs the gateway, which needs the store: bound once it exists.
    let gateway: Gateway | undefined;
    const notices: string[] = [];
    if (driver && isLifecycleCapable(driver)) {
      notices.push(...lifecycleNotices(driver, lifecycle));
      notices.push(...archives.notices);
      // The archive backend's closer was pushed before the sweeper's, so it runs after the sweeper stopped.
      const archiver = createArchiver(base, { backend: archives.backend });
      const sweeper = createSweeper({
        store: base,
        policy: lifecycle.policy,
        archiver,
        actionLog: createFileActionLog(lifecycle.actionLogPath),
        batchSize: lifecycle.sweeper.batchSize,
        maxOpsPerSecond: lifecycle.sweeper.maxOpsPerSecond,
        pauseMs: lifecycle.sweeper.pauseMs,
        pauseRatio: lifecycle.sweeper.pauseRatio,
        leaseTtlMs: lifecycle.sweeper.leaseTtlMs,
        // Sessions the sweeper removes bypass the decorator: crypto-shred their data keys after.
        ...(encrypted ? { afterSweep: () => encrypted.shredOrphanedKeys() } : {}),
      });
      const unobserve = observeSweeper(sweeper, metrics);
      const unobserveStorage = observeStorage(base, metrics);
      sweeper.start(lifecycle.sweeper.intervalMs);
      closers.push(async () => {
        unobserve();
        unobserveStorage();
        await sweeper.stop();
      });
      // Archives hold the base store's items (sealed when encrypted): Usage opens them without a restore.
      const archivedItems = archivedItemsReader(
        archives.backend,
        encrypted ? (tenant, id, items) => encrypted.openItems(tenant, id, items) : undefined,
      );
      cleanup = { sweeper, archiver, archivedItems };
      // A turn over a session limit has the conversation compacted first; an admitted turn's own
      // compaction is not refused mid-turn (app-quota-room.ts).
      store = withQuotas(withArchives(measured, archiver), {
        policy: lifecycle.policy,
        compact: compactToFit(() => gateway?.engine),
        admitted: admittedTurnWrite,
      });
    }

    const rateLimits = await openServeRateLimits({
      config: sections.rateLimits,
      redis: rateLimitRedis,
      closers,
      signal,
    });
    notices.push(...rateLimits.notices);

    const layer = createProviderLayer(providersConfig, {
      env,
      wrapProvider: (provider) => withProviderMetrics(provider, metrics),
    });
    const unobserveRouter = observeRouter(layer.router, metrics);
    closers.push(async () => unobserveRouter());
    gateway = createGateway({
      store,
      providers: layer,
      ...busy,
      windowCache: windowCacheBytes === 0 ? false : { maxBytes: windowCacheBytes },
      // Stored turns are counted from their response records (turnsFromRecords above); turns that
      // write none (`store: false`, stateless chat, a commit lost to a store outage) would
      // otherwise spend unseen.
      onTurn: (turn) => {
        // Every turn, stored or not, counts against its tenant's daily spend cap (never a replay).
        rateLimits.recordTurn(turn);
        if (turn.stored) return;
        recordTurn(metrics, {
          tenant: turn.tenant,
          model: turn.model,
          usage: turn.usage,
          costUsd: turn.costUsd,
        });
      },
      // Likewise compaction: the stored ones are on their turn's record; a turn that failed after
      // compacting wrote none, and its summarizer calls were paid all the same.
      onCompaction: (spend) => {
        // Summarizer calls are spend too: the daily cap counts them, stored or not (never a replay).
        rateLimits.recordTurn(spend);
        if (!spend.stored) recordCompaction(metrics, spend);
      },
    });
    closers.push(() => gateway.close());
    if (gateway.windowCache) {
      const unobserveWindowCache = observeWindowCache(gateway.windowCache, metrics);
      closers.push(async () => unobserveWindowCache());
    }

    signal?.throwIfAborted();
    const app = await createServer({
      store,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security, development: !authenticated, limiter: rateLimits.limiter },
      ...(cleanup ? { lifecycle: { sweeper: cleanup.sweeper, archiver: cleanup.archiver } } : {}),
      readiness: rateLimits.readiness,
      bodyLimit: config.bodyLimit,
      ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
      // Request ids, one line per request, secrets and content redacted (docs/observability.md).
      logging: loggingOptions({ level: config.logLevel }),
    });
    // Until a request comes, nothing but the start itself has written to the store: discard() may remove it.
    let served = false;
    app.addHook("onRequest", (_request, _reply, done) => {
      served = true;
      done();
    });
    rateLimits.useLogger(app.log);
    registerRequestLogging(app);
    registerTracing(app);
    registerMetrics(app, {
      metrics,
      ...(env.HOLDFAST_METRICS_TOKEN ? { bearerToken: env.HOLDFAST_METRICS_TOKEN } : {}),
    });
    registerDashboard(app, {
      store,
      host: config.host,
      tenants: servedTenants(security, { configured: oidcProviders.map((provider) => provider.tenant) }),
      metrics,
      upstreams: layer.router,
      env,
      ...(cleanup
        ? {
            sweeper: cleanup.sweeper,
            archivedItems: cleanup.archivedItems,
            // The store under the restore-on-read layer: the id search lists a stub as it is.
            peekSession: (tenant: string, id: string) => measured.get(tenant, id),
          }
        : {}),
    });
    const shutdown = async (deadlineMs: number): Promise<number> => {
      let aborted = 0;
      let force: ReturnType<typeof setTimeout> | undefined;
      const timer = setTimeout(() => {
        aborted = app.abortInFlight("the server is shutting down");
        // The aborted turns commit their partial output and answer; a connection still open a
        // moment after that (a slow request body, a client not reading) is cut, so the deadline holds.
        void app.inFlightSettled().then(() => {
          if (!closed) force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        });
      }, deadlineMs);
      let closed = false;
      try {
        await app.close();
      } finally {
        closed = true;
        clearTimeout(timer);
        clearTimeout(force);
      }
      await close();
      return aborted;
    };
    closers.push(() => app.close());
    return {
      shutdown,
      app,
      store,
      gateway,
      mode: authenticated ? "secure" : loopback ? "development" : "insecure",
      encrypted: keyring !== null,
      providers: layer.config.providers.map((p) => p.name),
      identityProviders: oidcProviders.map(({ issuer, tenant }) => ({ issuer, tenant })),
      notices,
      close,
      discard: async () => {
        await close();
        if (!served) await created.remove();
      },
    };
  } catch (error) {
    await close();
    await created.remove();
    throw error;
  }
}
