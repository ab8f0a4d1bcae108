import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createSqliteDriver } from "./sqlite.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));

testStoreConformance({
  name: "sqlite",
  open: async (clock) =>
    createSessionStore(createSqliteDriver({ path: join(dir, "conformance.db") }), { clock }),
});
