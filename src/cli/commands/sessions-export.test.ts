/** Runs the real `holdfast sessions export|import` against SQLite stores. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createStore } from "../../store/create-store.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
const NODE = join(ROOT, "node_modules/.bin/node");
const BIN = join(ROOT, "bin/holdfast.js");

async function holdfast(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(NODE, [BIN, ...args], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("holdfast sessions export|import (binary)", () => {
  let dir: string;
  let src: string;
  let ids: string[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-portable-cli-"));
    src = `sqlite:${join(dir, "src.db")}`;
    const store = await createStore(src);
    ids = [];
    for (let s = 0; s < 5; s++) {
      const items = Array.from({ length: 30 }, (_, i) => ({
        content: {
          type: "message",
          role: i % 2 ? "assistant" : "user",
          content: [{ type: "input_text", text: `s${s} m${i} \u2028 ✓` }],
        },
      }));
      ids.push((await store.create("default", { labels: ["cli"], state: { s }, items })).id);
    }
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exports to a file and imports into another store byte-identically", async () => {
    const file = join(dir, "export.jsonl");
    const exp = await holdfast("sessions", "export", "--store", src, "--out", file, "--json");
    assert.equal(exp.code, 0, exp.stderr);
    assert.deepEqual([JSON.parse(exp.stdout).sessions, JSON.parse(exp.stdout).items], [5, 150]);
    const dst = `sqlite:${join(dir, "dst.db")}`;
    const imp = await holdfast("sessions", "import", file, "--store", dst, "--json");
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(JSON.parse(imp.stdout).imported, 5);
    const again = await holdfast("sessions", "import", file, "--store", dst, "--json");
    assert.equal(again.code, 4);
    const skip = await holdfast(
      "sessions",
      "import",
      file,
      "--store",
      dst,
      "--on-conflict",
      "skip",
      "--json",
    );
    assert.equal(JSON.parse(skip.stdout).skipped, 5);
    // Re-exporting the copy gives the same item lines.
    const copy = await holdfast("sessions", "export", "--store", dst);
    const items = (text: string): string[] =>
      text
        .split("\n")
        .filter((l) => l.startsWith('{"kind":"item"'))
        .map((l) => JSON.stringify(JSON.parse(l).item.content))
        .sort();
    assert.deepEqual(items(copy.stdout), items(readFileSync(file, "utf8")));
  });

  it("rejects a truncated file with exit code 2 and imports nothing of the cut session", async () => {
    const text = (await holdfast("sessions", "export", "--store", src, "--ids", ids.join(","))).stdout;
    const file = join(dir, "cut.jsonl");
    writeFileSync(file, text.slice(0, text.indexOf("s2 m15")));
    const dst = `sqlite:${join(dir, "cut.db")}`;
    const run = await holdfast("sessions", "import", file, "--store", dst);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /truncated/);
    const store = await createStore(dst);
    try {
      assert.equal((await store.list("default", { limit: 100 })).data.length, 2);
      await assert.rejects(store.get("default", ids[2]!), { code: "not_found" });
    } finally {
      await store.close();
    }
  });
});
