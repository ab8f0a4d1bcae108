/**
 * Node 22 prints "ExperimentalWarning: SQLite is an experimental feature…" on the first load of
 * node:sqlite in every thread (Node 24 does not). The CLI drops it (bin/holdfast.js), and so do the
 * SQLite worker threads (sqlite-notice.ts): it broke the CLI's stderr, which carries its messages
 * and the summaries scripts read. Every other warning still prints. The binary checks are real on
 * Node 22 (DEVELOPERS.md says how to run the tests there); on Node 24 there is no notice to drop.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createStore } from "../store/create-store.ts";
import { quietSqliteNotice } from "../store/drivers/sqlite-notice.ts";
import { ROOT, runCli } from "./cli-helpers.ts";

const NOTICE = "SQLite is an experimental feature and might change at any time";

/** The caller's NODE_OPTIONS (type stripping on Node 22) without a flag silencing ExperimentalWarnings. */
function warningsOn(): Record<string, string> {
  const options = (process.env.NODE_OPTIONS ?? "")
    .split(/\s+/)
    .filter((flag) => flag !== "" && !flag.startsWith("--disable-warning") && flag !== "--no-warnings");
  return { NODE_OPTIONS: options.join(" ") };
}

test("quietSqliteNotice drops Node 22's SQLite notice and passes every other warning", async () => {
  const seen: string[] = [];
  const listener = (warning: Error) => seen.push(`${warning.name}: ${warning.message}`);
  process.on("warning", listener);
  const restore = quietSqliteNotice();
  try {
    process.emitWarning(NOTICE, "ExperimentalWarning");
    process.emitWarning(NOTICE, { type: "ExperimentalWarning" });
    process.emitWarning(Object.assign(new Error(NOTICE), { name: "ExperimentalWarning" }));
    process.emitWarning(
      "WASI is an experimental feature and might change at any time",
      "ExperimentalWarning",
    );
    process.emitWarning(`${NOTICE} (a test's own warning)`, "HoldfastTestWarning");
    await once(process, "warning");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [
      "ExperimentalWarning: WASI is an experimental feature and might change at any time",
      `HoldfastTestWarning: ${NOTICE} (a test's own warning)`,
    ]);
  } finally {
    restore();
    process.off("warning", listener);
  }
});

describe("the CLI's stderr", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-sqlite-notice-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a command writing SQLite (main thread and its checkpoint worker) prints no SQLite notice", async () => {
    const source = `sqlite:${join(dir, "source.db")}`;
    const store = await createStore(source);
    await store.create("default", { items: [{ content: { type: "message", role: "user", content: "hi" } }] });
    await store.close();
    const file = join(dir, "export.jsonl");
    const env = warningsOn();
    const exported = await runCli(["sessions", "export", "--store", source, "--out", file], { env });
    assert.equal(exported.code, 0, exported.stderr);
    const imported = await runCli(["sessions", "import", file, "--store", `sqlite:${join(dir, "t.db")}`], {
      env,
    });
    assert.equal(imported.code, 0, imported.stderr);
    for (const run of [exported, imported]) assert.doesNotMatch(run.stderr, /SQLite is an experimental/);
  });

  test("a script quieting the notice still prints other warnings, in the main thread and a worker", () => {
    const notice = pathToFileURL(join(ROOT, "src/store/drivers/sqlite-notice.ts")).href;
    const script = join(dir, "warn.mjs");
    writeFileSync(
      script,
      `import { Worker, isMainThread } from "node:worker_threads";
const { quietSqliteNotice, loadSqliteQuietly } = await import(${JSON.stringify(notice)});
if (isMainThread) {
  quietSqliteNotice();
  await import("node:sqlite");
  process.emitWarning("main thread's own warning", "ExperimentalWarning");
  await new Promise((resolve) => new Worker(new URL(import.meta.url)).on("exit", resolve));
} else {
  loadSqliteQuietly();
  process.emitWarning("worker's own warning", "HoldfastTestWarning");
}
`,
    );
    const run = spawnSync(process.execPath, [script], {
      env: { ...process.env, ...warningsOn() },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /ExperimentalWarning: main thread's own warning/);
    assert.match(run.stderr, /HoldfastTestWarning: worker's own warning/);
    assert.doesNotMatch(run.stderr, /SQLite is an experimental/);
  });
});
