/**
 * Test support for the Postgres driver: the server every test uses and a unique schema per
 * run, dropped afterwards, so concurrent runs never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import pg from "pg";

/** The test server (trust auth). Override with HOLDFAST_TEST_POSTGRES. */
export const TEST_POSTGRES_URL =
  process.env.HOLDFAST_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh schema name, e.g. `hf_test_3f2a…`. */
export function uniqueSchema(prefix = "hf_test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** The test URL with `?schema=`. */
export function schemaUrl(schema: string): string {
  return `${TEST_POSTGRES_URL}${TEST_POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`;
}

/** Runs SQL on a short-lived connection outside any store (setup, inspection, cleanup). */
export async function adminQuery(text: string, values?: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** A loopback TCP proxy to the test server that a test can freeze (a silent network), thaw and cut. */
export interface TestProxy {
  port: number;
  /** Stops forwarding in both directions: the peer sees no error, only silence. */
  freeze(): void;
  thaw(): void;
  /** Drops every connection open now (both sides see it close); new ones are still forwarded. */
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const target = new URL(TEST_POSTGRES_URL);
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 5432), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        if (!frozen) to.write(chunk);
      });
    forward(inbound, outbound);
    forward(outbound, inbound);
    inbound.on("close", () => outbound.destroy());
    outbound.on("close", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on loopback where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
