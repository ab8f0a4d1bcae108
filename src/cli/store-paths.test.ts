/**
 * Store and file paths through the real binary: an SQLite path that is not a database, reading
 * commands on a missing store (exit 3, nothing created), `--out` and import paths that are
 * directories — each a usage error naming what to fix, never a bare Node error with exit 1.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { runCli } from "./cli-helpers.ts";

describe("CLI store and file paths", () => {
  let dir: string;
  let store: string;
  let id: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-paths-"));
    store = `sqlite:${path.join(dir, "store.db")}`;
    const s = await createStore(store);
    id = (
      await s.create("default", { items: [{ content: { type: "message", role: "user", content: "hi" } }] })
    ).id;
    await s.close();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("an SQLite path that is not a database, a directory or under a file exits 2", async () => {
    const notDb = path.join(dir, "not-a-db.txt");
    await writeFile(notDb, "hello, not sqlite\n".repeat(100));
    const cases: [string, RegExp][] = [
      [
        notDb,
        /'.*not-a-db\.txt' is not an SQLite database .*check the path in the store URL\. \[invalid_argument\]/,
      ],
      [dir, /Cannot open the SQLite file .*is it a directory.*\[invalid_argument\]/],
      [
        path.join(notDb, "sub", "x.db"),
        /Cannot create the directory of the SQLite file .*\(ENOTDIR\).*\[invalid_argument\]/,
      ],
    ];
    for (const [file, message] of cases) {
      const res = await runCli(["sessions", "import", "-", "--store", `sqlite:${file}`]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
    }
  });

  test("reading commands on a missing SQLite file exit 3 and create nothing", async () => {
    const missing = path.join(dir, "typo", "holdfast.db");
    const url = `sqlite:${missing}`;
    for (const args of [
      ["sessions", "export", "--store", url],
      ["keys", "list", "--tenant", "a", "--store", url],
      ["cleanup", "--dry-run", "--store", url],
      ["openclaw", "export", id, "--out", "-", "--store", url],
    ]) {
      const res = await runCli(args, { cwd: dir });
      assert.equal(res.code, 3, `${args.join(" ")}: ${res.stderr}`);
      assert.match(
        res.stderr,
        /No SQLite store at '.*typo.*'; check --store or HOLDFAST_STORE\. \[not_found\]/,
      );
    }
    const migrate = await runCli(["migrate", "--from", url, "--to", "memory:"]);
    assert.equal(migrate.code, 3);
    assert.match(migrate.stderr, /check --from\. \[not_found\]/);
    const doctor = await runCli(["doctor", "--json", "--store", url], { cwd: dir });
    assert.equal(doctor.code, 0, doctor.stderr);
    const checks = JSON.parse(doctor.stdout) as { check: string; status: string; detail: string }[];
    assert.deepEqual(checks[1], {
      check: "store",
      status: "warn",
      detail: `${url} does not exist yet: serve creates it on its first start`,
    });
    assert.equal(existsSync(path.dirname(missing)), false);
  });

  test("migrate refuses one SQLite file spelled two ways", async () => {
    const res = await runCli(["migrate", "--from", "sqlite:./store.db", "--to", store], { cwd: dir });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--from and --to name the same store/);
  });

  test("--out a directory or in a missing directory, and importing a directory, exit 2", async () => {
    const outDir = path.join(dir, "out");
    await mkdir(outDir);
    for (const args of [
      ["sessions", "export", "--store", store, "--out", outDir],
      ["openclaw", "export", id, "--store", store, "--out", outDir],
    ]) {
      const res = await runCli(args);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /--out '.*out' is a directory; name the file to write\. \[invalid_argument\]/);
    }
    const noDir = await runCli([
      "sessions",
      "export",
      "--store",
      store,
      "--out",
      path.join(dir, "none", "x.jsonl"),
    ]);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /Cannot write --out '.*none.x\.jsonl' \(ENOENT\)/);
    assert.deepEqual(await readdir(outDir), [], "no temporary file is left behind");
    const imported = await runCli(["sessions", "import", outDir, "--store", store]);
    assert.equal(imported.code, 2);
    assert.match(imported.stderr, /'.*out' is a directory: pass an export/);
  });
});
