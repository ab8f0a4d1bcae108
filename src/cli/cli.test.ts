/**
 * The real binary, end to end: `serve` over a temporary SQLite file, HTTP against it, a clean
 * shutdown on signals, then `sessions ls|show` reading the same file.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, startServe } from "./cli-helpers.ts";

describe("holdfast CLI (real binary)", () => {
  let dir: string;
  let store: string;
  let id: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-cli-"));
    store = `sqlite:${path.join(dir, "nested", "holdfast.db")}`;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("--help of each command prints usage with examples", async () => {
    for (const args of [
      ["--help"],
      ["serve", "--help"],
      ["sessions", "ls", "--help"],
      ["sessions", "show", "--help"],
    ]) {
      const res = await runCli(args);
      assert.equal(res.code, 0, args.join(" "));
      assert.match(res.stdout, /Usage: holdfast/);
      assert.match(res.stdout, /Examples:/);
    }
  });

  test("serve listens, serves the API, and exits 0 on SIGTERM after closing the store", async () => {
    const server = await startServe(["--port", "0", "--store", store]);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${server.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok", store: "sqlite" });
      const created = await fetch(`${server.url}/v1/conversations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          owner: "alice",
          labels: ["cli"],
          items: [{ role: "user", content: "hello from the cli test" }],
        }),
      });
      assert.equal(created.status, 200);
      id = ((await created.json()) as { id: string }).id;
    } finally {
      server.child.kill("SIGTERM");
    }
    const result = await server.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /store sqlite:/);
    assert.match(result.stdout, /stopped \(SIGTERM\)/);
  });

  test("serve takes its options from the environment and exits 0 on SIGINT", async () => {
    const server = await startServe([], { env: { HOLDFAST_PORT: "0", HOLDFAST_STORE: store } });
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    server.child.kill("SIGINT");
    assert.equal((await server.exited).code, 0);
  });

  test("serve rejects a bad option with exit code 2 and a message naming it", async () => {
    const res = await runCli(["serve", "--port", "70000", "--store", "memory:"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--port must be a port number/);
  });

  test("serve and mock-upstream on a port in use exit 2 with a message naming --port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      const res = await runCli(["serve", "--port", String(port), "--store", "memory:"]);
      assert.equal(res.code, 2);
      assert.match(
        res.stderr,
        /^holdfast: Port \d+ on 127\.0\.0\.1 is already in use; pick another with --port or HOLDFAST_PORT \(0 picks a free one\)\. \[invalid_argument\]\n$/,
      );
      const mock = await runCli(["mock-upstream", "--port", String(port)]);
      assert.equal(mock.code, 2);
      assert.match(
        mock.stderr,
        /already in use; pick another with --port \(0 picks a free one\)\. \[invalid_argument\]/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test("sessions ls prints a table and --json the API's list shape", async () => {
    const table = await runCli(["sessions", "ls", "--store", store]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+OWNER\s+ITEMS/);
    assert.match(table.stdout, new RegExp(`${id}\\s+alice\\s+1`));
    const json = await runCli(["sessions", "ls", "--json", "--owner", "alice", "--store", store]);
    const page = JSON.parse(json.stdout);
    assert.equal(page.object, "list");
    assert.deepEqual(
      page.data.map((c: { id: string }) => c.id),
      [id],
    );
    const other = await runCli(["sessions", "ls", "--json", "--tenant", "someone-else", "--store", store]);
    assert.deepEqual(JSON.parse(other.stdout).data, []);
    const absent = await runCli(["sessions", "ls", "--store", `sqlite:${path.join(dir, "absent.db")}`]);
    assert.equal(absent.code, 3);
    assert.match(absent.stderr, /No SQLite store at/);
  });

  test("sessions show prints the session and its items; unknown id exits 3", async () => {
    const plain = await runCli(["sessions", "show", id, "--store", store]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /owner:\s+alice/);
    assert.match(plain.stdout, /hello from the cli test/);
    const json = JSON.parse(
      (await runCli(["sessions", "show", id, "--json", "--items", "5", "--store", store])).stdout,
    );
    assert.equal(json.id, id);
    assert.equal(json.items.length, 1);
    assert.deepEqual(json.items[0].content, [{ type: "input_text", text: "hello from the cli test" }]);
    const missing = await runCli([
      "sessions",
      "show",
      "conv_00000000000000000000000000000000",
      "--store",
      store,
    ]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /not_found/);
  });
});
