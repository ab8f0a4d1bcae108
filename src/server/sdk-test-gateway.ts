/**
 * Shared by the gateway tests that talk through the official `openai` SDK: the gateway over a
 * store and a providers section, served on a loopback port, and a client pointed at it.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

export interface SdkGateway {
  client: OpenAI;
  /** The served app, to inject requests or read its store. */
  t: TestApp;
  /** Closes the app, its store and the gateway. */
  close: () => Promise<void>;
}

/** `providers`: the config file's provider sections (`{ providers: [...] }`); none: the mock. */
export async function openSdkGateway(store: SessionStore, providers?: unknown): Promise<SdkGateway> {
  const layer = createProviderLayer(parseProvidersConfig(providers, {}), { env: {} });
  const gateway = createGateway({ store, providers: layer });
  const t = await openTestApp({ store, gateway: { engine: gateway.engine, models: gateway.models } });
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  return {
    client,
    t,
    close: async () => {
      await t.close();
      await gateway.close();
    },
  };
}

/**
 * The SDK over a gateway on a memory store whose one provider, `resp` (an `openai-responses`
 * upstream), is the fake `upstream` (model `resp/<name>`); `close` closes both.
 */
export async function openSdkGatewayOverResponses(upstream: Upstream): Promise<SdkGateway> {
  return overUpstream(upstream, "resp", "openai-responses");
}

/** The same over a Chat Completions upstream (provider `chat`, models `chat/<name>`). */
export async function openSdkGatewayOverChat(upstream: Upstream): Promise<SdkGateway> {
  return overUpstream(upstream, "chat", "openai-chat");
}

interface Upstream {
  baseUrl: string;
  close: () => Promise<void>;
}

async function overUpstream(upstream: Upstream, name: string, type: string): Promise<SdkGateway> {
  const gateway = await openSdkGateway(await createStore("memory:"), {
    providers: [{ name, type, baseUrl: upstream.baseUrl }],
  });
  return {
    ...gateway,
    close: async () => {
      await gateway.close();
      await upstream.close();
    },
  };
}

/** Starts `server` on a free loopback port and answers the port. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}
