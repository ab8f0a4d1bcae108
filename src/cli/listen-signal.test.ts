/**
 * Which SQLite files a stopped `holdfast serve` leaves behind. The start-up ends with the
 * "listening" line: a SIGTERM or SIGINT before it (also while the server is binding its port)
 * stops a start that never completed, and the SQLite store it created goes, as for a start that
 * failed; once it has said it is listening the store is real and stays. A real child process and
 * a real signal; the listen is held back (a preloaded module delays `net.Server#listen` and says
 * when it was called) so the signal lands while the server binds, the window that used to keep
 * the new file.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { spawnCli, startServe } from "./cli-helpers.ts";

const LISTEN_CALLED = "test-preload: listen called";

/** Delays every `net.Server#listen` by `ms` and says on stderr when one was called. */
const slowListen = (ms: number): string => `
import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  process.stderr.write(${JSON.stringify(`${LISTEN_CALLED}\n`)});
  setTimeout(() => listen.apply(this, args), ${ms});
  return this;
};
`;

describe("serve: the SQLite store a stopped start created", () => {
  let dir: string;
  let preload: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-listen-signal-"));
    preload = path.join(dir, "slow-listen.mjs");
    await writeFile(preload, slowListen(1500));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} while the server binds its port: exit 0, and the new store and its directory are removed`, async () => {
      const db = path.join(dir, `binding-${signal}`, "holdfast.db");
      const { child, output } = spawnCli(["serve", "--port", "0", "--store", `sqlite:${db}`], {
        // Added to the caller's NODE_OPTIONS (on Node 22.13: --experimental-strip-types).
        env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${preload}`.trim() },
      });
      const exited = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
      while (!output().stderr.includes(LISTEN_CALLED)) {
        if (child.exitCode !== null) assert.fail(`exited before listening: ${output().stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(existsSync(db), true, "the start created the store before listening");
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const [code, by] = await exited;
      clearTimeout(timer);
      const { stdout, stderr } = output();
      assert.equal(by, null, `killed by ${by}: ${stderr}`);
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`holdfast stopped \\(${signal} during start-up\\)`));
      assert.doesNotMatch(stdout, /listening on/);
      assert.equal(existsSync(db), false, "the store created by the stopped start is left behind");
      assert.equal(existsSync(path.dirname(db)), false);
    });
  }

  test("SIGTERM once it said it is listening: exit 0, and the store stays", async () => {
    const db = path.join(dir, "listening", "holdfast.db");
    const server = await startServe(["--port", "0", "--store", `sqlite:${db}`]);
    server.child.kill("SIGTERM");
    const res = await server.exited;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /holdfast stopped \(SIGTERM\)/);
    assert.equal(existsSync(db), true);
  });
});
