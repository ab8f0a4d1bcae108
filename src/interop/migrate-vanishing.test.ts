/**
 * `migrate` when a session disappears while its items are being copied: deleted or expired in the
 * source, or its copy deleted in the target. The run leaves it out, reports it, removes the copy
 * it had started, and carries on with the other sessions.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import type { SessionStore } from "../store/types.ts";
import { type MigrateProgress, migrate, sessionChecksum } from "./migrate.ts";

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });
const HOUR = 3_600_000;

/**
 * `store` whose `readItems` runs `actions[id]` once, just before the copy reads the second page
 * of that session's items: what another client (or the clock) does while the migration runs.
 */
function interleaving(store: SessionStore, actions: Map<string, () => Promise<void>>): SessionStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      // The core keeps private fields: its methods run on the store itself, not on the proxy.
      if (key !== "readItems") {
        const value = Reflect.get(target, key, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (...args: Parameters<SessionStore["readItems"]>) => {
        const [, id, options] = args;
        const action = actions.get(id);
        if (action && (options?.afterSeq ?? 0) > 0) {
          actions.delete(id);
          await action();
        }
        return target.readItems(...args);
      };
    },
  });
}

test("migrate leaves out a session deleted or expired while its items are copied, removes its partial copy, and carries on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-migrate-vanishing-"));
  const schema = uniqueSchema();
  let ahead = 0; // the source's clock jumps forward mid-copy: a session's expiry passes
  const source = await createStore({
    url: `sqlite:${join(dir, "source.db")}`,
    clock: () => Date.now() + ahead,
  });
  const target = await createStore(schemaUrl(schema));
  try {
    const abc = ["a", "b", "c"].map(say);
    const deleted = await source.create("t", { items: abc });
    const expiring = await source.create("t", { expiresAt: Date.now() + HOUR, items: abc });
    const dropped = await source.create("t", { items: abc });
    const kept = await source.create("t", { items: ["d", "e"].map(say) });
    const actions = new Map<string, () => Promise<void>>([
      [deleted.id, () => source.delete("t", deleted.id)],
      [
        expiring.id,
        async () => {
          ahead = 2 * HOUR;
        },
      ],
      [dropped.id, () => target.delete("t", dropped.id)],
    ]);
    const progress: MigrateProgress[] = [];
    const report = await migrate(interleaving(source, actions), target, {
      tenants: ["t"],
      pageSize: 1,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(actions.size, 0, "every interleaved action ran");
    const byId = (a: { sessionId: string }, b: { sessionId: string }) =>
      a.sessionId.localeCompare(b.sessionId);
    assert.deepEqual(
      report.vanished.sort(byId),
      [
        { tenant: "t", sessionId: deleted.id, gone: "source" },
        { tenant: "t", sessionId: expiring.id, gone: "source" },
        { tenant: "t", sessionId: dropped.id, gone: "target" },
      ].sort(byId),
    );
    assert.deepEqual([report.sessions, report.items, report.mismatches, report.expired], [1, 2, [], []]);
    // No half-copied session: the first page each had in the target is gone with it.
    for (const id of [deleted.id, expiring.id, dropped.id])
      await assert.rejects(target.get("t", id), { code: "not_found" }, id);
    assert.deepEqual(
      await sessionChecksum(target, "t", kept.id),
      await sessionChecksum(source, "t", kept.id),
    );
    assert.deepEqual(
      progress
        .filter((p) => p.leftOut)
        .map((p) => [p.sessionId, p.leftOut])
        .sort(),
      [deleted.id, expiring.id, dropped.id].map((id) => [id, "vanished"]).sort(),
    );
  } finally {
    await Promise.all([source.close(), target.close()]);
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("migrate --prune-deleted reports an item the source deleted after it was copied as deleted in the source, not a mismatch, and removes it from the copy", async () => {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-migrate-deleted-item-"));
  const schema = uniqueSchema();
  const source = await createStore(`sqlite:${join(dir, "source.db")}`);
  const target = await createStore(schemaUrl(schema));
  try {
    const session = await source.create("t", { items: ["a", "b", "c"].map(say) });
    const [first] = await source.readItems("t", session.id, { limit: 1 });
    // Deleted once the first page (pageSize 1: that item) is in the target.
    const actions = new Map([
      [session.id, () => source.deleteItem("t", session.id, first!.id).then(() => {})],
    ]);
    const report = await migrate(interleaving(source, actions), target, {
      tenants: ["t"],
      pageSize: 1,
      pruneDeleted: true,
    });
    assert.equal(actions.size, 0, "the deletion ran mid-copy");
    assert.deepEqual(report.mismatches, []);
    assert.deepEqual(report.deletedInSource, [{ tenant: "t", sessionId: session.id, itemIds: [first!.id] }]);
    assert.deepEqual([report.sessions, report.vanished], [1, []]);
    assert.deepEqual(
      await sessionChecksum(target, "t", session.id),
      await sessionChecksum(source, "t", session.id),
    );

    // A copy made by an earlier run, holding an item the source deleted since: the same on a re-run.
    const [b] = await source.readItems("t", session.id, { limit: 1 });
    await source.deleteItem("t", session.id, b!.id);
    const again = await migrate(source, target, { tenants: ["t"], pageSize: 1, pruneDeleted: true });
    assert.deepEqual(again.mismatches, []);
    assert.deepEqual(again.deletedInSource, [{ tenant: "t", sessionId: session.id, itemIds: [b!.id] }]);
    assert.deepEqual(
      await sessionChecksum(target, "t", session.id),
      await sessionChecksum(source, "t", session.id),
    );
    // In step now: nothing to remove, the copy is complete.
    const third = await migrate(source, target, { tenants: ["t"] });
    assert.deepEqual([third.deletedInSource, third.mismatches, third.skipped], [[], [], 1]);
  } finally {
    await Promise.all([source.close(), target.close()]);
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  }
});
