/**
 * bin/quiet-warnings.js: Node 22's stability notice for node:sqlite never reaches the CLI's stderr
 * (it broke the CLI's messages and the --json summaries scripts parse there); other warnings still
 * do. Node 24 prints no such notice, so it is emitted here by hand.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { quietStabilityNotices } from "../../bin/quiet-warnings.js";

test("drops Node 22's SQLite notice, passes every other warning", async () => {
  const seen: string[] = [];
  const listener = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on("warning", listener);
  const restore = quietStabilityNotices();
  try {
    process.emitWarning(
      "SQLite is an experimental feature and might change at any time",
      "ExperimentalWarning",
    );
    process.emitWarning("SQLite is an experimental feature and might change at any time", {
      type: "ExperimentalWarning",
    });
    process.emitWarning(
      "WASI is an experimental feature and might change at any time",
      "ExperimentalWarning",
    );
    process.emitWarning("SQLite is an experimental feature (a test's own warning)", "HoldfastTestWarning");
    await once(process, "warning");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [
      "ExperimentalWarning: WASI is an experimental feature and might change at any time",
      "HoldfastTestWarning: SQLite is an experimental feature (a test's own warning)",
    ]);
  } finally {
    restore();
    process.off("warning", listener);
  }
});
