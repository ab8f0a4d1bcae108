/**
 * `sessions ls` paging through the real binary: the "More:" line is a command that, run as
 * printed, lists the next page of the same listing (store, tenant, filters, page size, order).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp } from "../../app.ts";
import { loadServerConfig } from "../../config/index.ts";
import { createStore } from "../../store/create-store.ts";
import { runCli } from "../cli-helpers.ts";

/** The arguments of a "More: holdfast …" line (its words are plain: no quoting to undo). */
function moreArgs(stdout: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith("More: holdfast "));
  assert.ok(line, `a More: line in\n${stdout}`);
  return line.slice("More: holdfast ".length).split(" ");
}

describe("sessions ls pages", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hf-ls-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("the More: command lists the next page of the same store, tenant and filter", async () => {
    const url = `sqlite:${path.join(dir, "paged.db")}`;
    const store = await createStore(url);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        ids.push((await store.create("acme", { owner: "alice", labels: ["paged"] })).id);
        await store.create("acme", { owner: "bob" });
        // Creation order is by millisecond (then id): a tie would order alice's two by random id.
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    } finally {
      await store.close();
    }
    const first = await runCli(
      ["sessions", "ls", "--store", url, "--tenant", "acme", "--owner", "alice", "--order", "asc", "-n", "1"],
      { cwd: dir },
    );
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(ids[0]!));
    // Run from a directory without ./data/holdfast.db: the store must come from the printed line.
    const second = await runCli(moreArgs(first.stdout), { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    const listed = second.stdout.split("\n").filter((l) => l.startsWith("conv_"));
    assert.deepEqual(
      listed.map((l) => l.split(/\s+/)[0]),
      [ids[1]],
      "one session (the page size), alice's second in creation order",
    );
    const third = await runCli(moreArgs(second.stdout), { cwd: dir });
    assert.deepEqual(
      third.stdout
        .split("\n")
        .filter((l) => l.startsWith("conv_"))
        .map((l) => l.split(/\s+/)[0]),
      [ids[2]],
    );
  });

  test("--json prints GET /v1/conversations' list object, field for field, on every page", async () => {
    const url = `sqlite:${path.join(dir, "json.db")}`;
    const store = await createStore(url);
    try {
      for (let i = 0; i < 3; i++) await store.create("default", { owner: "carol", labels: [`n${i}`] });
    } finally {
      await store.close();
    }
    const config = await loadServerConfig({ flags: { store: url, logLevel: "silent" }, env: {} });
    const holdfast = await createHoldfastApp({ config, env: {} });
    try {
      let cursor: string | null = null;
      for (const pageSize of [2, 2]) {
        const query: string = `limit=${pageSize}${cursor ? `&after=${encodeURIComponent(cursor)}` : ""}`;
        const http = await holdfast.app.inject({ url: `/v1/conversations?${query}` });
        assert.equal(http.statusCode, 200, http.body);
        const args = ["sessions", "ls", "--store", url, "--json", "-n", String(pageSize)];
        const cli = await runCli(cursor ? [...args, "--after", cursor] : args, { cwd: dir });
        assert.equal(cli.code, 0, cli.stderr);
        const listed = JSON.parse(cli.stdout);
        assert.deepEqual(listed, http.json());
        assert.deepEqual(Object.keys(listed), [
          "object",
          "data",
          "first_id",
          "last_id",
          "has_more",
          "next_cursor",
        ]);
        cursor = listed.next_cursor;
      }
      assert.equal(cursor, null, "two pages of 2 hold the 3 sessions");
    } finally {
      await holdfast.close();
    }
  });
});
