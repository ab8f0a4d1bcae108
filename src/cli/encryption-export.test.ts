/**
 * A keyless `holdfast sessions export` of a selection holding an encrypted session is refused
 * before anything is written: no partial stream on stdout that would pass for an export of the
 * sessions before it, no file (nor temporary file) for `--out <file>`. Real binary, real SQLite.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { runCli } from "./cli-helpers.ts";
import { KEYS, message, openAsServe } from "./encryption-cli-test-support.ts";

const REFUSED = /Session '(conv_\w+)' is encrypted: set HOLDFAST_KEYS or HOLDFAST_KEY_FILE/;

describe("a keyless sessions export that meets an encrypted session", () => {
  let dir: string;
  let url: string;
  let plain: string;
  let encrypted: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-cli-enc-export-"));
    url = `sqlite:${join(dir, "mixed.db")}`;
    const { base, store } = await openAsServe(url);
    // Listed first (oldest) and over the export's 64 KB chunk: written out before the next session is read.
    const big = Array.from({ length: 40 }, (_, i) => message(`plain ${i} ${"x".repeat(4000)}`));
    plain = (await base.create("default", { items: big })).id;
    await setTimeout(5);
    encrypted = (await store.create("default", { items: [message("sealed")] })).id;
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 2 with nothing on stdout, whole store or --ids", async () => {
    for (const selection of [[], ["--ids", `${plain},${encrypted}`]]) {
      const run = await runCli(["sessions", "export", ...selection, "--out", "-", "--store", url]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.match(REFUSED)?.[1], encrypted);
      assert.equal(run.stdout.length, 0, `${selection.join(" ")}: bytes written to stdout`);
    }
  });

  it("exits 2 leaving neither the --out file nor its temporary file", async () => {
    const out = join(dir, "out", "backup.jsonl");
    mkdirSync(join(dir, "out"));
    const run = await runCli(["sessions", "export", "--out", out, "--store", url]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, REFUSED);
    assert.deepEqual(readdirSync(join(dir, "out")), []);
  });

  it("with the keys, or for the plaintext session alone, the export goes through; --help says so", async () => {
    const keyed = await runCli(["sessions", "export", "--out", "-", "--store", url], {
      env: { HOLDFAST_KEYS: KEYS },
    });
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.match(keyed.stdout, /"kind":"trailer"/);
    const alone = await runCli(["sessions", "export", "--ids", plain, "--out", "-", "--store", url]);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /"kind":"trailer"/);
    const help = await runCli(["sessions", "export", "--help"]);
    assert.match(
      help.stdout,
      /Without the keyring, a selection holding an encrypted session exits 2 before anything is written/,
    );
  });
});
