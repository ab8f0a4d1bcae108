import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createArchiver } from "../lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../lifecycle/policy.ts";
import { createSweeper } from "../lifecycle/sweeper.ts";
import { createSessionStore } from "../store/core.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createMetrics } from "./create-metrics.ts";
import { withStoreMetrics } from "./store-metrics.ts";
import { observeSweeper } from "./sweeper-metrics.ts";

test("sweeper actions and freed bytes, through the store decorator", async () => {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const metrics = createMetrics({ defaultMetrics: false });
  const store = withStoreMetrics(
    createSessionStore(createMemoryDriver(), { clock: () => clock.now }),
    metrics,
  );
  const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h" } });
  const dir = await mkdtemp(join(tmpdir(), "holdfast-sweeper-metrics-"));
  const archiver = createArchiver(store, { dir, clock: () => clock.now });
  const sweeper = createSweeper({ store, policy, archiver, clock: () => clock.now });
  const empty = await metrics.registry.metrics();
  assert.ok(empty.includes("holdfast_sweeper_runs_total 0"), "zero before a sweeper is observed");
  const stop = observeSweeper(sweeper, metrics);
  const items = [{ content: { type: "message", role: "user", content: "old" } }];
  await store.create("default", { items });
  await store.create("default", { items });
  clock.now += 2 * 36e5;
  const report = await sweeper.sweepOnce();
  assert.equal(report?.done, 2);
  const text = await metrics.registry.metrics();
  assert.ok(text.includes("holdfast_sweeper_runs_total 1"), text);
  assert.ok(text.includes('holdfast_sweeper_actions_total{action="archive"} 2'));
  assert.ok(text.includes("holdfast_sweeper_items_removed_total 2"));
  assert.match(text, /holdfast_sweeper_freed_bytes_total [1-9]\d*/);
  // A second scrape reports the same totals (mirrored, not accumulated).
  assert.ok((await metrics.registry.metrics()).includes("holdfast_sweeper_runs_total 1"));
  stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});
