/**
 * `holdfast serve` with a bad configuration section must stop before it opens the store: a
 * config mistake must not leave a new, empty SQLite file (and its directory) behind.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { runCli } from "./cli-helpers.ts";

const CASES: { section: string; file?: unknown; env?: Record<string, string>; message: RegExp }[] = [
  { section: "lifecycle", file: { lifecycle: { defaults: { idle_ttl: "soon" } } }, message: /idle_ttl/ },
  { section: "gateway", file: { gateway: "fast" }, message: /gateway must be an object/ },
  { section: "rate_limits", file: { rate_limits: "yes" }, message: /rate_limits must be an object/ },
  {
    section: "security",
    file: {
      security: {
        oidc_providers: [
          {
            issuer: "https://idp.example.com",
            jwks_url: "http://idp.example.com/k",
            audience: "a",
            tenant: "t",
          },
        ],
      },
    },
    message: /security\.oidc_providers\[0\]\.jwks_url/,
  },
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

/** The durable tier of the tiered start-ups below: an existing Postgres server, no API keys in it. */
const durableSchema = uniqueSchema();
/** Nothing listens on port 1: a store there cannot be opened (refused at once). */
const UNREACHABLE_REDIS = "redis://127.0.0.1:1";
const REDIS = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379";
/** `lifecycle.archive` in a SQLite file of its own at `db`: opened before the store. */
const sqliteArchiveAt = (db: string) => ({
  lifecycle: { archive: { backend: "sqlite", url: `sqlite:${db}` } },
});

/** Start-ups refused for something other than a config section: none may create the store either. */
const REFUSALS: {
  name: string;
  args: (db: string) => string[];
  file?: (db: string) => unknown;
  message: RegExp;
}[] = [
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
    file: () => ({
      lifecycle: { archive: { backend: "postgres", url: "postgres://postgres@127.0.0.1:1/test" } },
    }),
    message: /Cannot reach the archive database/,
  },
  {
    // Refused before connecting: the hot tier is never reached (nothing listens there).
    name: "a non-loopback host without API keys, tiered over a Redis and a new SQLite file",
    args: (db) => ["--host", "0.0.0.0", "--store", UNREACHABLE_REDIS, "--archive", `sqlite:${db}`],
    message: /Refusing to serve 0\.0\.0\.0 without API keys/,
  },
  {
    name: "a Postgres hot tier, with a SQLite archive backend",
    args: () => ["--store", schemaUrl(durableSchema), "--archive", "memory:"],
    file: sqliteArchiveAt,
    message: /The 'postgres' driver cannot be a hot tier/,
  },
  {
    name: "a store that cannot be opened, with a SQLite archive backend",
    args: () => ["--store", UNREACHABLE_REDIS, "--archive", schemaUrl(durableSchema)],
    file: sqliteArchiveAt,
    message: /127\.0\.0\.1:1/,
  },
  {
    // Keys could be in the existing durable tier: known only once it is open, then refused.
    name: "a non-loopback host without API keys over an existing Redis and Postgres, with a SQLite archive backend",
    args: () => ["--host", "0.0.0.0", "--store", REDIS, "--archive", schemaUrl(durableSchema)],
    file: sqliteArchiveAt,
    message: /Refusing to serve 0\.0\.0\.0 without API keys/,
  },
];

describe("a refused serve start creates no store file", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-refused-no-store-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await dropSchema(durableSchema);
  });

  for (const [i, c] of REFUSALS.entries()) {
    test(c.name, async () => {
      const db = path.join(dir, `refusal-${i}`, "holdfast.db");
      const args = ["serve", "--port", "0", "--log-level", "silent", ...c.args(db)];
      if (c.file !== undefined) {
        const file = path.join(dir, `refusal-${i}.json`);
        await writeFile(file, JSON.stringify(c.file(db)));
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

test("a serve whose port is in use removes the store and archive files it created, and only those", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "holdfast-port-in-use-"));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = blocker.address() as AddressInfo;
    const serveOn = async (db: string) => {
      const config = path.join(dir, "archive.json");
      await writeFile(config, JSON.stringify(sqliteArchiveAt(path.join(dir, "archive", "archive.db"))));
      const args = ["serve", "--port", String(port), "--store", `sqlite:${db}`, "--config", config];
      const res = await runCli(args, { timeoutMs: 15_000 });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /is already in use; pick another with --port/);
    };
    // New: the store opened (and the archive file created) before the listen failed are removed.
    const fresh = path.join(dir, "new", "holdfast.db");
    await serveOn(fresh);
    assert.equal(existsSync(path.dirname(fresh)), false, "no store file nor directory is left");
    assert.equal(existsSync(path.join(dir, "archive")), false, "no archive file nor directory is left");
    // Existing: kept, with what it holds.
    const kept = path.join(dir, "holdfast.db");
    const store = await createStore(`sqlite:${kept}`);
    const s = await store.create("default", {});
    await store.close();
    await serveOn(kept);
    const reopened = await createStore(`sqlite:${kept}`);
    assert.equal((await reopened.get("default", s.id)).id, s.id);
    await reopened.close();
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
