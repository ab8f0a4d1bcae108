/**
 * The plumbing the tests' fake upstreams share: a loopback HTTP server that reads each request's
 * JSON body, keeps it (in order, for the test to inspect) and hands it with its 0-based number to
 * the fake's own `reply`, which writes the answer in its API's wire format.
 */
import { createServer, type ServerResponse } from "node:http";
import { listenLocal } from "./sdk-test-gateway.ts";

export interface FakeUpstreamServer {
  /** `http://127.0.0.1:port/v1` */
  baseUrl: string;
  /** Request bodies received, in order. */
  seen: Record<string, unknown>[];
  close: () => Promise<void>;
}

export async function startFakeUpstreamServer(
  reply: (n: number, body: Record<string, unknown>, res: ServerResponse) => void,
): Promise<FakeUpstreamServer> {
  const seen: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on("end", () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      const n = seen.length;
      seen.push(body);
      reply(n, body, res);
    });
  });
  const port = await listenLocal(server);
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
