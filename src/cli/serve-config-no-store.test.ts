/**
 * `holdfast serve` with a bad configuration section must stop before it opens the store: a
 * config mistake must not leave a new, empty SQLite file (and its directory) behind.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./cli-helpers.ts";

const CASES: { section: string; file?: unknown; env?: Record<string, string>; message: RegExp }[] = [
  { section: "lifecycle", file: { lifecycle: { defaults: { idle_ttl: "soon" } } }, message: /idle_ttl/ },
  { section: "gateway", file: { gateway: "fast" }, message: /gateway must be an object/ },
  { section: "rate_limits", file: { rate_limits: "yes" }, message: /rate_limits must be an object/ },
  {
    section: "providers",
    file: { providers: [{ name: "local", type: "openai-chat", baseURL: "http://127.0.0.1:1/v1" }] },
    message: /providers\[0\]\.baseURL is not a known setting/,
  },
  { section: "HOLDFAST_KEYS", env: { HOLDFAST_KEYS: "not a keyring" }, message: /HOLDFAST_KEYS/ },
];

describe("serve checks every config section before it creates the store", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-config-no-store-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [i, c] of CASES.entries()) {
    test(`a bad ${c.section}`, async () => {
      const db = path.join(dir, `case-${i}`, "holdfast.db");
      const args = ["serve", "--port", "0", "--store", `sqlite:${db}`, "--log-level", "silent"];
      if (c.file !== undefined) {
        const file = path.join(dir, `case-${i}.json`);
        await writeFile(file, JSON.stringify(c.file));
        args.push("--config", file);
      }
      const res = await runCli(args, { env: c.env ?? {}, timeoutMs: 15_000 });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, c.message);
      assert.equal(existsSync(path.dirname(db)), false, "no store file nor directory was created");
    });
  }
});

/** Start-ups refused for something other than a config section: none may create the store either. */
const REFUSALS: { name: string; args: (db: string) => string[]; file?: unknown; message: RegExp }[] = [
  {
    name: "a non-loopback host without API keys",
    args: (db) => ["--host", "0.0.0.0", "--store", `sqlite:${db}`],
    message: /Refusing to serve 0\.0\.0\.0 without API keys/,
  },
  {
    name: "a non-loopback host without API keys, tiered over a new SQLite file",
    args: (db) => ["--host", "0.0.0.0", "--store", "memory:", "--archive", `sqlite:${db}`],
    message: /Refusing to serve 0\.0\.0\.0 without API keys/,
  },
  {
    name: "a SQLite hot tier",
    args: (db) => ["--store", `sqlite:${db}`, "--archive", "memory:"],
    message: /The 'sqlite' driver cannot be a hot tier/,
  },
  {
    // Nothing listens on port 1: the archive backend cannot connect.
    name: "an archive backend that cannot be opened",
    args: (db) => ["--store", `sqlite:${db}`],
    file: { lifecycle: { archive: { backend: "postgres", url: "postgres://postgres@127.0.0.1:1/test" } } },
    message: /Cannot reach the archive database/,
  },
];

describe("a refused serve start creates no store file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-refused-no-store-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [i, c] of REFUSALS.entries()) {
    test(c.name, async () => {
      const db = path.join(dir, `refusal-${i}`, "holdfast.db");
      const args = ["serve", "--port", "0", "--log-level", "silent", ...c.args(db)];
      if (c.file !== undefined) {
        const file = path.join(dir, `refusal-${i}.json`);
        await writeFile(file, JSON.stringify(c.file));
        args.push("--config", file);
      }
      const res = await runCli(args, { timeoutMs: 15_000 });
      assert.notEqual(res.code, 0, res.stderr);
      assert.notEqual(res.code, null, "exited by itself");
      assert.match(res.stderr, c.message);
      assert.equal(existsSync(path.dirname(db)), false, "no store file nor directory was created");
    });
  }
});
