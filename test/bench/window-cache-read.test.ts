/** The gateway benchmark reads the served process's window cache counters from /metrics. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { readWindowCache } from "../../bench/gateway/setup.ts";

async function serving(status: number, body: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("gateway bench: window cache counters", () => {
  test("reads hits and misses, not the extended counter or look-alike names", async () => {
    const text = [
      "# TYPE holdfast_window_cache_hits_total counter",
      "holdfast_window_cache_hits_total 1234",
      "holdfast_window_cache_misses_total 56",
      "holdfast_window_cache_extended_total 999",
      "",
    ].join("\n");
    const { server, origin } = await serving(200, text);
    try {
      assert.deepEqual(await readWindowCache(origin), { hits: 1234, misses: 56 });
    } finally {
      server.close();
    }
  });

  test("null without the counters (a build before them) or without /metrics", async () => {
    for (const [status, body] of [
      [200, "# TYPE holdfast_http_request_duration_seconds histogram\n"],
      [404, "holdfast_window_cache_hits_total 1\nholdfast_window_cache_misses_total 2\n"],
    ] as const) {
      const { server, origin } = await serving(status, body);
      try {
        assert.equal(await readWindowCache(origin), null);
      } finally {
        server.close();
      }
    }
  });
});
