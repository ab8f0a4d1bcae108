/**
 * The cleanup counters over HTTP with two tenants' admin keys: each tenant's admin sees its own
 * tenant's figures (and whole-store sweeps), never what the sweeper did in another tenant.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createArchiver } from "../../lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../lifecycle/policy.ts";
import { createSweeper } from "../../lifecycle/sweeper.ts";
import { createSecurity } from "../../security/create-security.ts";
import { createSessionStore } from "../../store/core.ts";
import { createMemoryDriver } from "../../store/drivers/memory.ts";
import { createServer } from "../create-server.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-cleanup-tenants-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("GET /v1/admin/cleanup/stats per tenant", () => {
  it("shows a tenant's admin its own tenant's counters, not another tenant's", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const security = createSecurity({ store });
    const keyA = (await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] })).secret;
    const keyB = (await security.apiKeys.create({ tenant: "globex", scopes: ["admin"] })).secret;
    const archiver = createArchiver(store, { dir, clock: () => clock.now });
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h", on_expiry: "delete" } });
    const sweeper = createSweeper({ store, policy, archiver, clock: () => clock.now });
    const app = await createServer({
      store,
      security: { security, development: false },
      lifecycle: { sweeper, archiver },
    });
    const stats = async (key: string) => {
      const res = await app.inject({
        url: "/v1/admin/cleanup/stats",
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    for (let i = 0; i < 3; i++) await store.create("globex", { items: [msg("g"), msg("h")] });
    await store.create("acme", { items: [msg("a")] });
    clock.now += 2 * 36e5;

    // globex's admin cleans up globex: acme's admin learns nothing of it.
    const enforce = await app.inject({
      method: "POST",
      url: "/v1/admin/cleanup/enforce",
      headers: { authorization: `Bearer ${keyB}` },
      payload: {},
    });
    assert.equal(enforce.statusCode, 200, enforce.body);
    assert.equal(enforce.json().report.done, 3);
    const b = await stats(keyB);
    assert.equal(b.object, "cleanup.stats");
    assert.equal(b.actions.delete, 3);
    assert.equal(b.itemsRemoved, 6);
    assert.equal(b.runs, 1);
    const a = await stats(keyA);
    assert.deepEqual(a.actions, {});
    assert.equal(a.itemsRemoved, 0);
    assert.equal(a.bytesFreed, 0);
    assert.equal(a.runs, 0, "globex's own run is not acme's");
    assert.equal(a.lastRunAt, null);

    // A whole-store sweep covers both tenants: each sees the run, and only its own actions.
    assert.equal((await sweeper.sweepOnce())?.done, 1);
    const a2 = await stats(keyA);
    assert.equal(a2.actions.delete, 1);
    assert.equal(a2.itemsRemoved, 1);
    assert.equal(a2.runs, 1);
    assert.equal(a2.lastRunAt, clock.now);
    const b2 = await stats(keyB);
    assert.equal(b2.actions.delete, 3);
    assert.equal(b2.runs, 2);
    // The operator's figures (metrics, CLI) still cover every tenant.
    assert.equal(sweeper.stats().actions.delete, 4);
    assert.equal(sweeper.stats().runs, 2);
    await app.close();
    await store.close();
  });
});
