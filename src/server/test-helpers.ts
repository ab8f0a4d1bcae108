/** Shared by the server tests: an app over a fresh memory store, and JSON injection in one line. */
import type { FastifyInstance, InjectOptions } from "fastify";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer, type ServerOptions } from "./create-server.ts";

export interface TestApp {
  app: FastifyInstance;
  store: SessionStore;
  /** Injects a request; `body` objects are sent as JSON. Returns status, headers and parsed JSON. */
  call: (
    method: InjectOptions["method"],
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<TestResponse>;
  close: () => Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes.
  json: any;
}

/**
 * An app over `options.store` (which `close()` then closes too), or over a fresh memory store.
 * `store` is always the one the app serves, so a test can check what a request wrote.
 */
export async function openTestApp(options: Partial<ServerOptions> = {}): Promise<TestApp> {
  const store = options.store ?? (await createStore("memory:"));
  const app = await createServer({ store, ...options });
  const call: TestApp["call"] = async (method, url, body, headers = {}) => {
    const res = await app.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      json: res.body ? JSON.parse(res.body) : undefined,
    };
  };
  return {
    app,
    store,
    call,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

export function userMessage(text: string): object {
  return { type: "message", role: "user", content: [{ type: "input_text", text }] };
}
