import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createArchiver } from "../../lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../lifecycle/policy.ts";
import { createSweeper } from "../../lifecycle/sweeper.ts";
import { createSessionStore } from "../../store/core.ts";
import { createMemoryDriver } from "../../store/drivers/memory.ts";
import { createServer } from "../create-server.ts";
import { registerCleanupRoutes } from "./admin-cleanup.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-admin-cleanup-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("admin cleanup routes", () => {
  it("previews the plan, enforces exactly it, counts it, and restores an archived conversation", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const store = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const archiver = createArchiver(store, { dir, clock: () => clock.now });
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h" } });
    const sweeper = createSweeper({ store, policy, archiver, clock: () => clock.now });
    const app = await createServer({ store });
    registerCleanupRoutes(app, { sweeper, archiver });
    const old = await store.create("default", { items: [msg("a"), msg("b")] });
    const other = await store.create("other", { items: [msg("x")] });
    clock.now += 2 * 36e5;
    await store.create("default");

    const preview = await app.inject({ method: "GET", url: "/v1/admin/cleanup/plan" });
    assert.equal(preview.statusCode, 200, preview.body);
    const plan = preview.json();
    assert.deepEqual(
      plan.actions.map((a: { sessionId: string; action: string }) => [a.sessionId, a.action]),
      [[old.id, "archive"]],
    );
    // A forged action for another tenant is dropped.
    const forged = {
      ...plan,
      actions: [...plan.actions, { ...plan.actions[0], tenant: "other", sessionId: other.id }],
    };
    const enforce = await app.inject({
      method: "POST",
      url: "/v1/admin/cleanup/enforce",
      payload: { plan: forged },
    });
    assert.equal(enforce.statusCode, 200, enforce.body);
    assert.equal(enforce.json().report.done, 1);
    assert.equal(enforce.json().plan.actions.length, 1);
    const stats = await app.inject({ method: "GET", url: "/v1/admin/cleanup/stats" });
    assert.equal(stats.json().actions.archive, 1);

    const stub = await store.get("default", old.id);
    assert.equal(stub.status, "archived");
    const restored = await app.inject({ method: "POST", url: `/v1/conversations/${old.id}/restore` });
    assert.equal(restored.statusCode, 200, restored.body);
    assert.equal(restored.json().id, old.id);
    assert.equal((await store.readItems("default", old.id)).length, 2);
    const missing = await app.inject({
      method: "POST",
      url: `/v1/conversations/conv_${"0".repeat(32)}/restore`,
    });
    assert.equal(missing.statusCode, 404);
    await app.close();
    await store.close();
  });

  it("refuses a malformed plan with 400 before acting, and restores any valid conversation id", async () => {
    const store = createSessionStore(createMemoryDriver());
    const archiver = createArchiver(store, { dir });
    const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h" } });
    const app = await createServer({ store });
    registerCleanupRoutes(app, { sweeper: createSweeper({ store, policy, archiver }), archiver });
    const session = await store.create("default", { items: [msg("a")] });
    const action = { tenant: "default", sessionId: session.id, version: session.version, action: "delete" };
    for (const actions of [
      [null],
      ["x"],
      [{ ...action, action: "explode" }],
      [{ ...action, sessionId: "x" }],
    ]) {
      const res = await app.inject({
        method: "POST",
        url: "/v1/admin/cleanup/enforce",
        payload: { plan: { now: 1, actions } },
      });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, "invalid_argument");
    }
    const far = await app.inject({
      method: "POST",
      url: "/v1/admin/cleanup/enforce",
      payload: { now: 9e18 },
    });
    assert.equal(far.statusCode, 400, far.body);
    assert.equal((await store.get("default", session.id)).itemCount, 1, "nothing was acted on");
    assert.equal((await app.inject({ url: "/v1/admin/cleanup/stats" })).json().errors, 0);
    // Ids are the store's (`conv_` + 8-96 characters), not only the generated hex form.
    const custom = await app.inject({ method: "POST", url: "/v1/conversations/conv_imported-1/restore" });
    assert.equal(custom.statusCode, 404, custom.body);
    await app.close();
    await store.close();
  });
});
