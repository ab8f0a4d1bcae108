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
const NODE = process.execPath; // the Node running the tests (see cli-helpers.ts)
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

  it("--ids naming a malformed or unknown session, or none, exits naming --ids and writes no file", async () => {
    const out = join(dir, "ids.jsonl");
    const cases: [string, number, string][] = [
      ["conv_nope", 2, "invalid_argument"],
      [`${ids[0]},conv_00000000000000000000000000000000`, 3, "not_found"],
      [" , ", 2, "invalid_argument"],
    ];
    for (const [list, exit, code] of cases) {
      const run = await holdfast("sessions", "export", "--store", src, "--ids", list, "--out", out, "--json");
      assert.equal(run.code, exit, `${list}: ${run.stderr}`);
      assert.deepEqual(
        [JSON.parse(run.stderr).error.code, JSON.parse(run.stderr).error.param],
        [code, "ids"],
        list,
      );
      assert.throws(() => readFileSync(out), { code: "ENOENT" }, `${list}: no file`);
    }
  });

  it("--on-conflict fail imports nothing from a file when any of its sessions exists; from stdin it says what stays", async () => {
    const file = join(dir, "conflict.jsonl");
    const exp = await holdfast("sessions", "export", "--store", src, "--out", file);
    assert.equal(exp.code, 0, exp.stderr);
    // The third session of the file, not of creation: sessions created in the same millisecond
    // may be exported in another order than they were created in.
    const fileIds = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.startsWith('{"kind":"session"'))
      .map((l) => JSON.parse(l).session.id as string);
    const conflict = fileIds[2]!;
    const dst = `sqlite:${join(dir, "conflict.db")}`;
    const only = (id: string) => holdfast("sessions", "export", "--store", src, "--ids", id);
    const third = join(dir, "third.jsonl");
    writeFileSync(third, (await only(conflict)).stdout);
    assert.equal((await holdfast("sessions", "import", third, "--store", dst)).code, 0);
    const stored = async (): Promise<string[]> => {
      const store = await createStore(dst);
      try {
        return (await store.list("default", { limit: 100 })).data.map((s) => s.id).sort();
      } finally {
        await store.close();
      }
    };
    const run = await holdfast("sessions", "import", file, "--store", dst);
    assert.equal(run.code, 4, run.stderr);
    assert.equal(
      run.stderr,
      `holdfast: 1 session(s) of the file already exist in the target: '${conflict}'; nothing was imported. Import with --on-conflict skip to keep them and import the others. [conflict]\n`,
    );
    assert.deepEqual(await stored(), [conflict], "nothing was imported");
    const json = await holdfast("sessions", "import", file, "--store", dst, "--json");
    assert.deepEqual(JSON.parse(json.stderr).error.param, "id");
    // stdin is read once: the sessions before the conflict are imported, and the error says so.
    const piped = await promisify(execFile)("/bin/sh", [
      "-c",
      `"${NODE}" "${BIN}" sessions import - --store "${dst}" < "${file}"; echo "exit $?" >&2`,
    ]);
    assert.match(
      piped.stderr,
      new RegExp(
        `^holdfast: Session '${conflict}' already exists in the target; the 2 session\\(s\\) before it in the file were imported and stay\\. Import with --on-conflict skip to keep it and import the rest\\. \\[conflict\\]\nexit 4\n$`,
      ),
    );
    assert.deepEqual(await stored(), fileIds.slice(0, 3).sort());
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
