/**
 * Several processes on one file storage (a CLI and a daemon, two workers): every write of each
 * must survive the others' — in particular queued appends, which are the user's unsent messages.
 * Uses real child processes, because the failure was one process's rename replacing the file
 * with its own stale view.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { importSpecifier, inTempDir, runModuleChild } from "../child-process-test-support.ts";
import { createFileStorage } from "./file-storage.ts";

const storageModule = importSpecifier(import.meta.dirname, "file-storage.ts");

/** A child that queues `count` entries under `q/<name>-<i>`, one durable write at a time. */
const writer = `
import { createFileStorage } from ${storageModule};
const [path, name, count] = process.argv.slice(-3);
const storage = await createFileStorage(path);
for (let i = 0; i < Number(count); i++) {
  await storage.set(\`q/\${name}-\${String(i).padStart(3, "0")}\`, { text: \`\${name} message \${i}\`, pad: "x".repeat(2000) });
}
await storage.close();
`;

/** A pid that belonged to a process that has exited (a crashed lock holder). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  const pid = child.pid;
  await new Promise((resolve) => child.on("close", resolve));
  assert.equal(typeof pid, "number");
  return pid as number;
}

describe("file storage shared by several processes", () => {
  test("two processes writing at once: nothing either wrote is lost", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const count = 40;
      const runs = await Promise.all([
        runModuleChild(writer, [path, "a", String(count)]),
        runModuleChild(writer, [path, "b", String(count)]),
      ]);
      for (const run of runs) assert.equal(run.code, 0, run.stderr);
      const storage = await createFileStorage(path);
      const keys = await storage.keys("q/");
      assert.equal(keys.length, 2 * count, `expected every queued entry, got ${keys.length}`);
      assert.deepEqual(await storage.get("q/a-007"), { text: "a message 7", pad: "x".repeat(2000) });
      assert.deepEqual(await storage.get("q/b-039"), { text: "b message 39", pad: "x".repeat(2000) });
      assert.deepEqual(await readdir(dir), ["store.json"], "no lock or temp file left behind");
    }));

  test("a storage sees what another process wrote since it was opened, and keeps it", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const daemon = await createFileStorage(path);
      await daemon.set("q/daemon-1", "mine");
      const run = await runModuleChild(writer, [path, "cli", "2"]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await daemon.keys("q/"), ["q/cli-000", "q/cli-001", "q/daemon-1"]);
      await daemon.delete("q/cli-000");
      await daemon.set("q/daemon-2", "mine too");
      const reopened = await createFileStorage(path);
      assert.deepEqual(await reopened.keys("q/"), ["q/cli-001", "q/daemon-1", "q/daemon-2"]);
    }));

  test("a lock left by a crashed process is taken over at once", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const pid = await deadPid();
      const owner = { pid, host: hostname(), token: `${pid}-crashed`, at: Date.now() };
      await writeFile(`${path}.lock`, JSON.stringify(owner));
      const storage = await createFileStorage(path, { lockTimeoutMs: 2000 });
      const started = Date.now();
      await storage.set("q/1", "after the crash");
      assert.ok(Date.now() - started < 1500, "did not wait for the dead holder");
      assert.deepEqual(await readdir(dir), ["store.json"]);
    }));

  test("temp files left by crashed writes and lock attempts are removed on open (lock free); live ones stay", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      await writeFile(path, JSON.stringify({ "q/1": JSON.stringify("kept") }));
      const dead = await deadPid();
      const live = process.pid;
      const leftovers = [
        `store.json.${dead}-0a1b2c3d4e5f.tmp`,
        `store.json.lock.${dead}-0011223344556677.tmp`,
      ];
      const oldButLive = `store.json.${live}-aaaaaaaaaaaa.tmp`;
      const kept = [
        `store.json.${live}-bbbbbbbbbbbb.tmp`, // a write of a live process, in progress
        `store.json.lock.${live}-cccccccccccccccc.tmp`, // a live process waiting for the lock
        `other.json.${dead}-0a1b2c3d4e5f.tmp`, // another storage's
        "store.json.notes.tmp", // not a name the storage makes
      ];
      for (const name of [...leftovers, oldButLive, ...kept]) await writeFile(join(dir, name), "{}");
      const past = new Date(Date.now() - 60_000);
      await utimes(join(dir, oldButLive), past, past);
      const storage = await createFileStorage(path, { lockStaleMs: 30_000 });
      assert.deepEqual((await readdir(dir)).sort(), ["store.json", ...kept].sort());
      assert.equal(await storage.get("q/1"), "kept");
    }));

  test("a write in progress on another host keeps its temp file; a crash's leftover goes with the next write", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      await writeFile(path, JSON.stringify({ "q/1": JSON.stringify("before") }));
      // Another host (or container) sharing the directory, mid-write: it holds the lock and has
      // written its temp file. Its pid means nothing here: to this host it looks dead.
      const theirs = `store.json.${await deadPid()}-0a1b2c3d4e5f.tmp`;
      const lock = { pid: 1, host: `not-${hostname()}`, token: "other-host-writer", at: Date.now() };
      await writeFile(`${path}.lock`, JSON.stringify(lock));
      await writeFile(join(dir, theirs), JSON.stringify({ "q/1": JSON.stringify("theirs") }));
      const storage = await createFileStorage(path, { lockTimeoutMs: 5000 });
      assert.equal(await storage.get("q/1"), "before");
      assert.deepEqual(await storage.keys("q/"), ["q/1"]);
      assert.ok(
        (await readdir(dir)).includes(theirs),
        "the other host's write in progress kept its temp file",
      );
      // It finishes: its rename lands, its lock goes; this storage sees it and writes after it.
      await rename(join(dir, theirs), path);
      await rm(`${path}.lock`);
      assert.equal(await storage.get("q/1"), "theirs");
      // A crash's leftover (a dead pid, no lock held) is removed by the next write.
      const leftover = `store.json.${await deadPid()}-ffeeddccbbaa.tmp`;
      await writeFile(join(dir, leftover), "{}");
      await storage.set("q/2", "mine");
      assert.deepEqual(await readdir(dir), ["store.json"]);
      assert.deepEqual(await storage.keys("q/"), ["q/1", "q/2"]);
    }));

  test("a writer waiting for the lock survives its temp owner file being removed as a leftover", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const owner = { pid: process.pid, host: hostname(), token: "live-holder", at: Date.now() };
      await writeFile(`${path}.lock`, JSON.stringify(owner));
      const storage = await createFileStorage(path, { lockTimeoutMs: 5000 });
      const waiting = storage.set("q/1", "x");
      await new Promise((resolve) => setTimeout(resolve, 100));
      // What another process's open does to a waiter older than the stale period.
      for (const name of await readdir(dir)) if (name.endsWith(".tmp")) await rm(join(dir, name));
      await rm(`${path}.lock`);
      await waiting;
      assert.deepEqual(await storage.keys("q/"), ["q/1"]);
      assert.deepEqual(await readdir(dir), ["store.json"]);
    }));

  test("a lock held by a live process is waited for; past the timeout, a clear error", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const owner = { pid: process.pid, host: hostname(), token: "live-holder", at: Date.now() };
      await writeFile(`${path}.lock`, JSON.stringify(owner));
      const storage = await createFileStorage(path, { lockTimeoutMs: 300 });
      await assert.rejects(storage.set("q/1", "x"), (error: Error) => {
        assert.match(error.message, /store\.json\.lock/);
        assert.match(error.message, new RegExp(`pid ${process.pid}`));
        return true;
      });
      // The holder lets go: the next write goes through, and the failed one left nothing behind.
      await rm(`${path}.lock`);
      await storage.set("q/2", "y");
      assert.deepEqual(await storage.keys("q/"), ["q/2"]);
    }));

  test("a lock older than lockStaleMs is taken over even if its pid looks alive (a reused pid)", () =>
    inTempDir("holdfast-client-procs-", async (dir) => {
      const path = join(dir, "store.json");
      const owner = { pid: process.pid, host: hostname(), token: "reused-pid", at: Date.now() };
      await writeFile(`${path}.lock`, JSON.stringify(owner));
      const storage = await createFileStorage(path, { lockTimeoutMs: 5000, lockStaleMs: 200 });
      await storage.set("q/1", "x");
      assert.deepEqual(await storage.keys("q/"), ["q/1"]);
    }));
});
