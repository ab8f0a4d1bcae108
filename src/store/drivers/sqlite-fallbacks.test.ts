/**
 * The store conformance suite on the SQLite driver with the Node 22.13 paths of sqlite-compat.ts
 * forced: CI runs only a newer Node, where the driver would otherwise take the native members.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver } from "./sqlite.ts";
import { forceSqliteFallbacks } from "./sqlite-compat.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-fallbacks-"));
// Before the suite's own hooks open the store (a root `before` would run after them).
forceSqliteFallbacks(true);
after(() => rmSync(dir, { recursive: true, force: true }));

testStoreConformance({
  name: "sqlite (Node 22.13 fallbacks)",
  open: async (clock) =>
    createSessionStore(createSqliteDriver({ path: join(dir, "conformance.db") }), { clock }),
});
