import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { testLifecycleCapability } from "../../../test/store-conformance/lifecycle-capability.ts";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver } from "./sqlite.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-lifecycle-"));
after(() => rmSync(dir, { recursive: true, force: true }));

testLifecycleCapability({
  name: "sqlite",
  open: async (clock) =>
    createSessionStore(createSqliteDriver({ path: join(dir, "lifecycle.db") }), { clock }),
});

// An in-memory database has one connection: purges run on it instead of the worker thread.
testLifecycleCapability({
  name: "sqlite (:memory:, purges on the driver's connection)",
  open: async (clock) => createSessionStore(createSqliteDriver({ path: ":memory:" }), { clock }),
});
