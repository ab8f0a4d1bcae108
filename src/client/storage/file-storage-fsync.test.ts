/**
 * A write is on disk before it resolves: the temp file is fsynced before the rename, and the
 * directory after it (a rename lives in the directory: unsynced, a power cut can undo it). The
 * syscalls are observed by wrapping `fs/promises.open` (a power cut cannot be simulated here).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createFileStorage } from "./file-storage.ts";

const fsPromises = createRequire(import.meta.url)("node:fs/promises") as typeof import("node:fs/promises");

test("each write fsyncs the temp file before the rename and the directory after it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-client-fsync-"));
  const original = fsPromises.open;
  /** `sync <path>` for every fsync, `rename` marks where renames happened. */
  const calls: string[] = [];
  const originalRename = fsPromises.rename;
  fsPromises.open = (async (...args: Parameters<typeof original>) => {
    const handle = await original(...args);
    const target = String(args[0]);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      await sync();
      calls.push(`sync ${target === dir ? "dir" : target.endsWith(".tmp") ? "temp" : target}`);
    };
    return handle;
  }) as typeof original;
  fsPromises.rename = (async (...args: Parameters<typeof originalRename>) => {
    await originalRename(...args);
    calls.push("rename");
  }) as typeof originalRename;
  syncBuiltinESMExports();
  try {
    const storage = await createFileStorage(join(dir, "store.json"));
    await storage.set("q/1", "queued");
    await storage.delete("q/1");
    assert.deepEqual(calls, ["sync temp", "rename", "sync dir", "sync temp", "rename", "sync dir"]);
  } finally {
    fsPromises.open = original;
    fsPromises.rename = originalRename;
    syncBuiltinESMExports();
    await rm(dir, { recursive: true, force: true });
  }
});
