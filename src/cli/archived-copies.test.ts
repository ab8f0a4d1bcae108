/**
 * `holdfast migrate`, `holdfast sessions export` and `holdfast openclaw export` on a store where
 * the lifecycle archived a session: its items are in the archive backend, and a copy without them
 * is silent data loss.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createSqliteArchiveBackend } from "../lifecycle/archive-table-sqlite.ts";
import { createArchiver } from "../lifecycle/archiver.ts";
import { createStore } from "../store/create-store.ts";
import { runCli } from "./cli-helpers.ts";

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

describe("copying a store holding a session the lifecycle archived (binary)", () => {
  let dir: string;
  let source: string;
  let config: string;
  let id: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-archived-copies-"));
    source = `sqlite:${join(dir, "source.db")}`;
    // The archives in a table of their own SQLite file, as `lifecycle.archive` configures them.
    config = join(dir, "holdfast.json");
    const archiveUrl = `sqlite:${join(dir, "archives.db")}`;
    writeFileSync(config, JSON.stringify({ lifecycle: { archive: { backend: "sqlite", url: archiveUrl } } }));
    const store = await createStore(source);
    id = (await store.create("default", { items: ["a", "b", "c"].map(say) })).id;
    const backend = createSqliteArchiveBackend(join(dir, "archives.db"), "gzip");
    assert.equal((await createArchiver(store, { backend }).archive("default", id)).archived, true);
    await backend.close();
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("migrate copies its items from the configured archive", async () => {
    const target = `sqlite:${join(dir, "target.db")}`;
    const res = await runCli(["migrate", "--from", source, "--to", target, "--config", config, "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout);
    assert.deepEqual([report.items, report.mismatches], [3, []]);
    const copy = await createStore(target);
    try {
      assert.deepEqual((await copy.get("default", id)).status, "archived");
      assert.deepEqual(
        (await copy.readItems("default", id)).map((i) => i.content),
        ["a", "b", "c"].map((t) => say(t).content),
      );
    } finally {
      await copy.close();
    }
  });

  it("migrate reports it when its archive is not where it looks, and exits 1", async () => {
    const target = `sqlite:${join(dir, "target-2.db")}`;
    const res = await runCli(
      ["migrate", "--from", source, "--to", target, "--archive-dir", join(dir, "none")],
      {
        cwd: dir,
      },
    );
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /verified: 1 mismatch/);
    assert.match(
      res.stdout,
      /archived by the lifecycle archiver: its 3 item\(s\) are in the archive backend/,
    );
    assert.match(res.stdout, /holds no archive of it; name the lifecycle.archive that does/);
  });

  it("sessions export writes its items, read from the configured archive", async () => {
    const out = join(dir, "export.jsonl");
    const res = await runCli(["sessions", "export", "--store", source, "--config", config, "--out", out]);
    assert.equal(res.code, 0, res.stderr);
    const lines = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.filter((l) => l.kind === "item").map((l) => l.item.content),
      ["a", "b", "c"].map((t) => say(t).content),
    );
    assert.equal(lines.find((l) => l.kind === "session_end").items, 3);
  });

  it("sessions export fails naming the session when its archive is not found, writing no file", async () => {
    const out = join(dir, "lost.jsonl");
    const res = await runCli(
      ["sessions", "export", "--store", source, "--archive-dir", join(dir, "none"), "--out", out],
      { cwd: dir },
    );
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, new RegExp(`Session '${id}' was archived by the lifecycle, but directory`));
    assert.throws(() => readFileSync(out));
  });

  it("openclaw export writes its items as transcript entries, read from the configured archive", async () => {
    const out = join(dir, "openclaw.jsonl");
    const res = await runCli(["openclaw", "export", id, "--store", source, "--config", config, "--out", out]);
    assert.equal(res.code, 0, res.stderr);
    const lines = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].type, "session");
    assert.deepEqual(
      lines.slice(1).map((l) => [l.message.role, l.message.content[0].text]),
      [
        ["user", "a"],
        ["user", "b"],
        ["user", "c"],
      ],
    );
  });

  it("openclaw export fails naming the session when its archive is not found, writing nothing", async () => {
    const out = join(dir, "lost-openclaw.jsonl");
    const res = await runCli(
      ["openclaw", "export", id, "--store", source, "--archive-dir", join(dir, "none"), "--out", out],
      { cwd: dir },
    );
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, new RegExp(`Session '${id}' was archived by the lifecycle, but directory`));
    assert.throws(() => readFileSync(out));
    const stdout = await runCli(
      ["openclaw", "export", id, "--store", source, "--archive-dir", join(dir, "none"), "--out", "-"],
      { cwd: dir },
    );
    assert.equal(stdout.code, 3, stdout.stderr);
    assert.equal(stdout.stdout, "");
  });
});
