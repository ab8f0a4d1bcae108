/**
 * The dashboard's usage report adds money in integer nano-dollars, as the usage route does: its
 * sums were floats, so turns costing 0.1 and 0.2 USD showed 0.30000000000000004.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ledgerRecord as record } from "../engine/turn/ledger-record-test-support.ts";
import { createStore } from "../store/create-store.ts";
import { collectUsage } from "./usage.ts";

test("0.1 + 0.2 USD is 0.3 in the usage points and the top sessions, compaction share included", async () => {
  const store = await createStore("memory:");
  try {
    const conv = await store.create("default");
    await store.append("default", conv.id, [record(0.1, 0.1), record(0.2, 0.2), record(null)]);
    const report = await collectUsage(store, { tenants: ["default"], since: 1 });
    assert.equal(report.points.length, 1);
    const [point] = report.points;
    assert.equal(point?.costUsd, 0.6);
    assert.equal(point?.compactionCostUsd, 0.3);
    assert.equal(point?.turns, 3);
    const [session] = report.topSessions;
    assert.equal(session?.costUsd, 0.6);
    assert.equal(session?.compactionCostUsd, 0.3);
  } finally {
    await store.close();
  }
});
