/**
 * Node-only test helpers (never imported by the SDK): an in-process Holdfast server on
 * 127.0.0.1:0 with the mock model, security with a movable clock and the token routes, and a
 * fetch that can be switched off to simulate the network going away.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity, type Security } from "../security/create-security.ts";
import { createServer } from "../server/create-server.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createHoldfastClient, type HoldfastClient } from "./client.ts";
import type { FetchLike } from "./http.ts";

export interface TestServer {
  baseUrl: string;
  store: SessionStore;
  security: Security;
  /** Moves the security clock (token expiry) forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** A server as `holdfast serve` builds it in development mode (no keys: anonymous is `default`). */
export async function startTestServer(
  options: { extend?: (app: FastifyInstance) => void | Promise<void> } = {},
): Promise<TestServer> {
  const store = await createStore("memory:");
  let offset = 0;
  const security = createSecurity({ store, clock: () => Date.now() + offset });
  const gateway = createGateway({
    store,
    providers: createProviderLayer(parseProvidersConfig(undefined, {})),
  });
  const app = await createServer({
    store,
    gateway: { engine: gateway.engine, models: gateway.models },
    security: { security, development: true },
  });
  await options.extend?.(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    store,
    security,
    advance: (ms) => {
      offset += ms;
    },
    close: async () => {
      await app.close();
      await gateway.close();
      await store.close();
    },
  };
}

/** How the simulated network behaves for the next requests. */
export type NetworkMode = "up" | "down" | "lose-answers";

export interface FlakyFetch {
  fetch: FetchLike;
  mode: NetworkMode;
  /** Requests that reached the server, as `METHOD path`. */
  log: string[];
}

/**
 * `down`: throws before sending (no connectivity). `lose-answers`: the request reaches the
 * server, then the answer is lost (the worst case for duplicates).
 */
export function createFlakyFetch(): FlakyFetch {
  const state: FlakyFetch = {
    mode: "up",
    log: [],
    fetch: async (input, init) => {
      if (state.mode === "down") throw new TypeError("fetch failed (simulated: offline)");
      state.log.push(`${init?.method ?? "GET"} ${new URL(input).pathname}`);
      const response = await fetch(input, init);
      if (state.mode === "lose-answers") {
        await response.arrayBuffer();
        throw new TypeError("fetch failed (simulated: answer lost)");
      }
      return response;
    },
  };
  return state;
}

/** The text of each message item, in order. */
export function texts(items: readonly { content?: unknown }[]): string[] {
  return items.map((item) => {
    const content = item.content;
    if (typeof content === "string") return content;
    if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? "").join("");
    return "";
  });
}

/**
 * A client signed in as `owner` (access + refresh token) whose token refreshes fail like a lost
 * network while `refresh.down` is true; every other request goes through.
 */
export async function signedInClient(
  server: TestServer,
  owner: string,
): Promise<{ client: HoldfastClient; accessToken: string; refresh: { down: boolean } }> {
  const pair = await server.security.refreshTokens.issue("default", { owner });
  const refresh = { down: false };
  const client = createHoldfastClient({
    baseUrl: server.baseUrl,
    tokens: { accessToken: pair.accessToken, refreshToken: pair.refreshToken },
    fetch: (input, init) => {
      if (refresh.down && input.endsWith("/v1/auth/token")) throw new TypeError("fetch failed");
      return fetch(input, init);
    },
  });
  return { client, accessToken: pair.accessToken, refresh };
}
