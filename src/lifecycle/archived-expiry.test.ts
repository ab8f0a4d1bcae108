/**
 * Archived sessions whose own TTLs have passed: a session a caller archived with an idle TTL, and
 * a sweeper stub a caller later gave an `expiresAt`. The store hides both the instant they expire
 * (invariant 7); the sweep must then remove them and the stub's archive, on SQLite and Postgres.
 * Tenant TTLs never apply to archives (their own retention does).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import type { StoreDriver } from "../store/driver.ts";
import { createPostgresDriver } from "../store/drivers/postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import { archivePath } from "./archive-files.ts";
import { createArchiver, lifecycleDriver, withArchives } from "./archiver.ts";
import { planCleanup } from "./planner.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { createSweeper } from "./sweeper.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-archived-expiry-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const H = 36e5;
const msg = { content: { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] } };

const stores: [string, () => Promise<StoreDriver>][] = [
  ["sqlite", async () => createSqliteDriver({ path: join(dir, "store.db") })],
  ["postgres", () => createPostgresDriver({ connectionString: schemaUrl(schema) })],
];

describe("archived sessions past their own TTLs", () => {
  for (const [name, open] of stores) {
    it(`are purged with their archives by the sweep (${name})`, async () => {
      const clock = { now: Date.UTC(2026, 0, 1) };
      const base = createSessionStore(await open(), { clock: () => clock.now });
      try {
        const archiver = createArchiver(base, { dir: join(dir, name), clock: () => clock.now });
        const store = withArchives(base, archiver);
        const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h" } });
        const sweeper = createSweeper({ store: base, policy, archiver, clock: () => clock.now });

        const callerArchived = await store.create("default", { items: [msg], idleTtlMs: 60_000 });
        await store.update("default", callerArchived.id, { status: "archived" });
        const stub = await store.create("default", { items: [msg] });
        const keeper = await store.create("default", { items: [msg] });
        clock.now += 2 * H;
        // The first sweep archives the idle ones; the caller-archived one is already past its TTL.
        await sweeper.sweepOnce();
        assert.equal((await base.get("default", stub.id)).status, "archived");
        assert.equal((await base.get("default", keeper.id)).status, "archived");
        const file = archivePath(join(dir, name), "default", stub.id);
        assert.ok(existsSync(file));
        await base.update("default", stub.id, { expiresAt: clock.now + 1000 });
        clock.now += 10 * 864e5;
        await assert.rejects(base.get("default", callerArchived.id), { code: "not_found" });
        await assert.rejects(base.get("default", stub.id), { code: "not_found" });

        const report = await sweeper.sweepOnce();
        assert.ok(report);
        const left = await lifecycleDriver(base).scanSessions({ tenant: "default", limit: 10 });
        assert.deepEqual(
          left.map((s) => s.id),
          [keeper.id],
          "the expired ones are gone; the stub without a TTL stays (no archive retention set)",
        );
        assert.equal(existsSync(file), false, "the expired stub's archive went with it");
        assert.ok(existsSync(archivePath(join(dir, name), "default", keeper.id)));
      } finally {
        await base.close();
      }
    });
  }

  it("plans purge_archive for the own expiry, not the tenant's TTL", () => {
    const now = Date.UTC(2026, 6, 1);
    const stub = {
      id: "conv_00000000000000000000000000000001",
      tenant: "t",
      owner: null,
      metadata: {},
      labels: [],
      state: {},
      version: 3,
      itemCount: 2,
      lastSeq: 2,
      tokenCount: 10,
      bytes: 100,
      createdAt: now - 100 * 864e5,
      updatedAt: now - 50 * 864e5,
      lastActiveAt: now - 100 * 864e5,
      idleTtlMs: null,
      expiresAt: null,
      status: "archived" as const,
      pinned: false,
      forkParent: null,
    };
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1d", absolute_ttl: "2d" } });
    assert.deepEqual(planCleanup([stub], policy, now).actions, []);
    const expiring = { ...stub, expiresAt: now };
    assert.deepEqual(
      planCleanup([expiring], policy, now).actions.map((a) => [a.action, a.reason]),
      [["purge_archive", "absolute_ttl"]],
    );
    const idle = { ...stub, idleTtlMs: 864e5 };
    assert.deepEqual(
      planCleanup([idle], policy, now).actions.map((a) => [a.action, a.reason]),
      [["purge_archive", "idle_ttl"]],
    );
  });
});
