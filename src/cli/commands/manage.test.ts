/**
 * `sessions rm|fork|compact`, `migrate` and `doctor` through the real binary.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { sessionChecksum } from "../../interop/migrate.ts";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { runCli } from "../cli-helpers.ts";

const say = (role: string, text: string) => ({
  content: {
    type: "message",
    role,
    content: [{ type: role === "assistant" ? "output_text" : "input_text", text }],
  },
});

async function seed(url: string, sessions: number, turns: number): Promise<string[]> {
  const store = await createStore(url);
  const ids: string[] = [];
  for (let s = 0; s < sessions; s++) {
    const session = await store.create("default", { owner: `u${s}`, labels: ["seed"], state: { n: s } });
    for (let t = 0; t < turns; t++) {
      await store.append("default", session.id, [
        say("user", `q${s}.${t} ${"words ".repeat(30)}`),
        say("assistant", `a${s}.${t}`),
      ]);
    }
    ids.push(session.id);
  }
  await store.close();
  return ids;
}

async function withStore<T>(url: string, run: (store: SessionStore) => Promise<T>): Promise<T> {
  const store = await createStore(url);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

describe("sessions rm|fork|compact, migrate, doctor", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hf-manage-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("fork, compact and rm change a session as asked", async () => {
    const url = `sqlite:${path.join(dir, "manage.db")}`;
    const [id] = await seed(url, 1, 10);
    const fork = await runCli(["sessions", "fork", id!, "--at-seq", "4", "--json", "--store", url]);
    assert.equal(fork.code, 0, fork.stderr);
    // The HTTP API's conversation object, as POST …/fork answers it (and sessions show --json prints).
    const child = JSON.parse(fork.stdout) as {
      id: string;
      object: string;
      item_count: number;
      fork_parent: unknown;
    };
    assert.equal(child.object, "conversation");
    assert.equal(child.item_count, 4);
    assert.deepEqual(child.fork_parent, { id, at_seq: 4 });
    const compacted = await runCli([
      "sessions",
      "compact",
      id!,
      "--keep-recent-tokens",
      "50",
      "--json",
      "--store",
      url,
    ]);
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.equal(JSON.parse(compacted.stdout).compacted, true);
    await withStore(url, async (store) => {
      const items = await store.readItems("default", id!, { limit: 100 });
      assert.equal(items.at(-1)?.type, "summary");
      assert.equal(items.length, 21, "the originals stay stored");
    });
    const removed = await runCli(["sessions", "rm", child.id, "--store", url]);
    assert.equal(removed.code, 0, removed.stderr);
    const again = await runCli(["sessions", "rm", child.id, "--store", url]);
    assert.equal(again.code, 3, "a missing session exits 3");
    const bad = await runCli(["sessions", "fork", id!, "--at-seq", "x", "--store", url]);
    assert.equal(bad.code, 2);
    const past = await runCli(["sessions", "fork", id!, "--at-seq", "9999", "--store", url]);
    assert.equal(past.code, 2);
    assert.match(past.stderr, /^holdfast: --at-seq 9999 is past the end of session/, "the flag, not atSeq");
    const hex = await runCli(["sessions", "compact", id!, "--keep-recent-tokens", "0x10", "--store", url]);
    assert.equal(hex.code, 2);
    assert.match(hex.stderr, /--keep-recent-tokens must be a whole number of at least 1 \(got '0x10'\)/);
  });

  test("rm-item deletes items, keeps the other seqs, and exits 3 for an unknown item", async () => {
    const url = `sqlite:${path.join(dir, "rm-item.db")}`;
    const [id] = await seed(url, 1, 2);
    const [first, second] = await withStore(url, (store) => store.readItems("default", id!));
    const removed = await runCli([
      "sessions",
      "rm-item",
      id!,
      first!.id,
      second!.id,
      "--json",
      "--store",
      url,
    ]);
    assert.equal(removed.code, 0, removed.stderr);
    const session = JSON.parse(removed.stdout) as { id: string; object: string; item_count: number };
    assert.deepEqual([session.id, session.object, session.item_count], [id, "conversation", 2]);
    await withStore(url, async (store) => {
      assert.deepEqual(
        (await store.readItems("default", id!)).map((i) => i.seq),
        [3, 4],
      );
    });
    const again = await runCli(["sessions", "rm-item", id!, first!.id, "--store", url]);
    assert.equal(again.code, 3, "an unknown item exits 3");
  });

  test("migrate copies, verifies, and resumes after an interruption", async () => {
    const from = `sqlite:${path.join(dir, "from.db")}`;
    const to = `sqlite:${path.join(dir, "to.db")}`;
    const ids = await seed(from, 4, 30);
    // An interrupted earlier run: one session created (as migrate creates it) with only part of its items.
    await withStore(from, async (source) => {
      const s = await source.get("default", ids[0]!);
      const part = await source.readItems("default", s.id, { limit: 20 });
      await withStore(to, async (target) => {
        await target.create("default", { id: s.id, owner: s.owner, labels: s.labels, state: s.state });
        await target.append(
          "default",
          s.id,
          part.map((i) => ({ id: i.id, content: i.content, tokens: i.tokens })),
        );
      });
    });
    const first = await runCli(["migrate", "--from", from, "--to", to, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as { sessions: number; items: number; mismatches: unknown[] };
    assert.equal(report.sessions, 4);
    assert.equal(report.items, 4 * 60 - 20);
    assert.deepEqual(report.mismatches, []);
    for (const id of ids) {
      const [a, b] = await Promise.all([
        withStore(from, (s) => sessionChecksum(s, "default", id)),
        withStore(to, (s) => sessionChecksum(s, "default", id)),
      ]);
      assert.deepEqual(b, a);
    }
    const rerun = await runCli(["migrate", "--from", from, "--to", to, "--json"]);
    const second = JSON.parse(rerun.stdout) as { skipped: number; items: number };
    assert.deepEqual([second.skipped, second.items], [4, 0]);
    const same = await runCli(["migrate", "--from", from, "--to", from]);
    assert.equal(same.code, 2);
  });

  test("migrate --json keeps stderr off a terminal for the one JSON error line: no progress lines", async () => {
    // 100 sessions: without --json, off a terminal, a progress line is printed every 100.
    const from = `sqlite:${path.join(dir, "migrate-json-from.db")}`;
    await seed(from, 100, 0);
    const plain = await runCli(["migrate", "--from", from, "--to", `sqlite:${path.join(dir, "plain.db")}`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /^migrating default: 100 sessions, 0 items copied\n$/);
    const json = await runCli([
      "migrate",
      "--json",
      "--from",
      from,
      "--to",
      `sqlite:${path.join(dir, "json.db")}`,
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, "");
    assert.equal((JSON.parse(json.stdout) as { sessions: number }).sessions, 100);
    // A malformed tenant after a good one: refused before anything is copied (no target is even
    // created), and stderr is its one JSON line.
    const failedTo = path.join(dir, "failed.db");
    const failed = await runCli([
      ...["migrate", "--json", "--from", from, "--to", `sqlite:${failedTo}`],
      ...["--tenant", "default", "--tenant", "bad tenant!"],
    ]);
    assert.equal(failed.code, 2, failed.stderr);
    assert.equal(failed.stderr.split("\n").length, 2, `one line: ${failed.stderr}`);
    const { error } = JSON.parse(failed.stderr) as { error: { param: string; message: string } };
    assert.deepEqual(
      [error.param, error.message.startsWith("Cannot migrate tenant 'bad tenant!'")],
      ["tenant", true],
    );
    assert.equal(existsSync(failedTo), false, "no target store was created");
  });

  test("doctor reports each check and fails on an unreachable store", async () => {
    const ok = await runCli(["doctor", "--json", "--store", `sqlite:${path.join(dir, "doctor.db")}`]);
    assert.equal(ok.code, 0, ok.stderr);
    const checks = JSON.parse(ok.stdout) as { check: string; status: string }[];
    assert.deepEqual(
      checks.map((c) => c.check),
      ["config", "store", "providers", "api keys", "encryption"],
    );
    const down = await runCli(["doctor", "--json", "--store", "postgres://postgres@127.0.0.1:1/test"]);
    assert.equal(down.code, 1);
    assert.equal((JSON.parse(down.stdout) as { check: string; status: string }[])[1]?.status, "fail");
  });

  test("doctor --json lists every check whatever fails: one that cannot run is skipped, saying why", async () => {
    const status = (stdout: string) =>
      (JSON.parse(stdout) as { check: string; status: string; detail: string }[]).map(
        (c) => `${c.check}: ${c.status}${c.status === "skipped" ? ` (${c.detail})` : ""}`,
      );
    const badStore = await runCli(["doctor", "--json", "--store", "sqlit:x"]);
    assert.equal(badStore.code, 1, badStore.stderr);
    assert.deepEqual(status(badStore.stdout), [
      "config: ok",
      "store: fail",
      "providers: warn",
      "api keys: skipped (not checked: the store check failed)",
      "encryption: warn",
    ]);
    const noConfig = path.join(dir, "no-such-config.json");
    const badConfig = await runCli(["doctor", "--json", "--config", noConfig, "--store", "sqlit:x"]);
    assert.equal(badConfig.code, 1, badConfig.stderr);
    assert.deepEqual(status(badConfig.stdout), [
      "config: fail",
      "store: skipped (not checked: the config check failed)",
      "providers: skipped (not checked: the config check failed)",
      "api keys: skipped (not checked: the config check failed)",
      "encryption: warn",
    ]);
  });

  test("doctor fails the config check on every section serve refuses to start with", async () => {
    const cases: [string, string, RegExp][] = [
      ["gateway.json", '{"gateway":{"busy_policy":"quue"}}', /gateway\.busy_policy/],
      ["lifecycle.json", '{"lifecycle":{"archive":{"backend":"dirr"}}}', /lifecycle\.archive\.backend/],
      ["limits.json", '{"rate_limits":{"per_key":{"requests_per_minute":"x"}}}', /rate_limits\.per_key/],
    ];
    const store = `sqlite:${path.join(dir, "doctor-config.db")}`;
    for (const [name, text, named] of cases) {
      const file = path.join(dir, name);
      await writeFile(file, text);
      const doctor = await runCli(["doctor", "--json", "--config", file, "--store", store]);
      assert.equal(doctor.code, 1, `${name}: ${doctor.stdout}`);
      const config = (JSON.parse(doctor.stdout) as { check: string; status: string; detail: string }[])[0];
      assert.equal(config?.status, "fail", name);
      assert.match(config?.detail ?? "", named);
      const serve = await runCli(["serve", "--port", "0", "--config", file, "--store", store]);
      assert.equal(serve.code, 2, `${name}: serve refuses the same file`);
    }
  });
});
