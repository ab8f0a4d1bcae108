/**
 * The turn engine's window cache shows in /metrics (hits, misses, extensions, bytes, entries), and
 * `gateway.window_cache` sizes it or turns it off.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp, type HoldfastApp } from "../app.ts";
import { loadServerConfig } from "../config/index.ts";

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hf-window-cache-metrics-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(gateway: object): Promise<HoldfastApp> {
  const config = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(config, JSON.stringify({ gateway }));
  const loaded = await loadServerConfig({
    flags: { store: "memory:", config, logLevel: "silent" },
    env: {},
  });
  return createHoldfastApp({ config: loaded, env: {} });
}

/** Starts a server with `gateway`, runs three mock turns on one new conversation, returns /metrics. */
async function metricsAfterThreeTurns(gateway: object): Promise<string> {
  const holdfast = await start(gateway);
  try {
    const created = await holdfast.app.inject({ method: "POST", url: "/v1/conversations", payload: {} });
    assert.equal(created.statusCode, 200, created.body);
    const conversation = created.json().id as string;
    for (let i = 0; i < 3; i++) {
      const res = await holdfast.app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: "mock", conversation, input: `turn ${i}` },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    return (await holdfast.app.inject({ url: "/metrics" })).body;
  } finally {
    await holdfast.close();
  }
}

function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} missing from /metrics`);
  return Number(line.slice(name.length + 1));
}

describe("window cache metrics", () => {
  test("count hits, misses and extensions and show the bytes and entries held", async () => {
    const text = await metricsAfterThreeTurns({});
    // The first turn's read misses (nothing cached) and seeds the entry; its appends extend it,
    // so the next two turns read their windows from the cache.
    assert.equal(sample(text, "holdfast_window_cache_misses_total"), 1);
    assert.equal(sample(text, "holdfast_window_cache_hits_total"), 2);
    assert.ok(sample(text, "holdfast_window_cache_extended_total") >= 3, text);
    assert.equal(sample(text, "holdfast_window_cache_entries"), 1);
    assert.ok(sample(text, "holdfast_window_cache_bytes") > 0);
  });

  test("gateway.window_cache: off reads every window from the store and reports nothing cached", async () => {
    const text = await metricsAfterThreeTurns({ window_cache: "off" });
    assert.equal(sample(text, "holdfast_window_cache_hits_total"), 0);
    assert.equal(sample(text, "holdfast_window_cache_entries"), 0);
  });

  test("a cache too small for one window keeps nothing and answers from the store", async () => {
    const text = await metricsAfterThreeTurns({ window_cache: "1kb" });
    assert.equal(sample(text, "holdfast_window_cache_hits_total"), 0);
    assert.equal(sample(text, "holdfast_window_cache_misses_total"), 3);
    assert.ok(sample(text, "holdfast_window_cache_bytes") <= 1000, text);
  });
});
