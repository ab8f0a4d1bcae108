import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createDirectoryArchiveBackend } from "../lifecycle/archive-files.ts";
import { createArchiver } from "../lifecycle/archiver.ts";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import type { SessionStore } from "../store/types.ts";
import { migrate, sessionChecksum } from "./migrate.ts";

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

test("migrate resumes by source seq when the source has gaps of deleted items", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const s = await source.create("t", { items: ["a", "b", "c", "d"].map(say) });
  const [, b, c] = await source.readItems("t", s.id);
  await source.deleteItem("t", s.id, b!.id);
  await source.deleteItem("t", s.id, c!.id);
  const first = await migrate(source, target, { tenants: ["t"], pageSize: 2 });
  assert.deepEqual(first.mismatches, []);
  assert.equal(first.items, 2);
  // New items after the gaps: only they are copied on the next run.
  await source.append("t", s.id, ["e", "f"].map(say));
  const second = await migrate(source, target, { tenants: ["t"], pageSize: 2 });
  assert.deepEqual(second.mismatches, []);
  assert.equal(second.items, 2);
  assert.deepEqual(await sessionChecksum(target, "t", s.id), await sessionChecksum(source, "t", s.id));
  assert.equal((await target.get("t", s.id)).itemCount, 4);
  await Promise.all([source.close(), target.close()]);
});

/** `store` whose appends fail after the first `n`: a migration cut off midway. */
function cutOffAfter(store: SessionStore, n: number): SessionStore {
  let left = n;
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (key !== "append") return value.bind(target);
      return (...args: Parameters<SessionStore["append"]>) => {
        if (left === 0) return Promise.reject(new Error("cut off"));
        left -= 1;
        return target.append(...args);
      };
    },
  });
}

test("migrate resumes after the source deleted the newest items the target copied, none twice or skipped", async () => {
  for (const deleted of [["b"], ["a", "b"]]) {
    const source = await createStore("memory:");
    const target = await createStore("memory:");
    const s = await source.create("t", { items: ["a", "b", "c", "d", "e"].map(say) });
    const items = await source.readItems("t", s.id);
    const idOf = (text: string) => items.find((i) => JSON.stringify(i.content).includes(`"${text}"`))!.id;
    await assert.rejects(migrate(source, cutOffAfter(target, 2), { tenants: ["t"], pageSize: 1 }), /cut off/);
    assert.equal((await target.get("t", s.id)).itemCount, 2, "a and b were copied");
    for (const text of deleted) await source.deleteItem("t", s.id, idOf(text));
    const resumed = await migrate(source, target, { tenants: ["t"], pageSize: 1, pruneDeleted: true });
    assert.equal(resumed.items, 3, `${deleted}: c, d and e are copied, once`);
    // What the source deleted since it was copied goes from the copy too: told as such, not a mismatch.
    const gone = deleted.map(idOf);
    assert.deepEqual(
      (await target.readItems("t", s.id)).map((i) => i.id),
      items.map((i) => i.id).filter((id) => !gone.includes(id)),
    );
    assert.deepEqual(resumed.mismatches, []);
    assert.deepEqual(resumed.deletedInSource, [{ tenant: "t", sessionId: s.id, itemIds: gone }]);
    await Promise.all([source.close(), target.close()]);
  }
});

test("migrate keeps in the copy an item the source no longer has unless told to prune, and names it", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const s = await source.create("t", { items: ["a", "b"].map(say) });
  assert.equal((await migrate(source, target, { tenants: ["t"] })).items, 2);
  const [a, b] = await source.readItems("t", s.id);
  // Cut over: the application now writes to the target; the source deleted a (say, a clean-up).
  await source.deleteItem("t", s.id, a!.id);
  const { items: written } = await target.append("t", s.id, ["c"].map(say));
  // A catch-up run cannot tell a (copied, then deleted in the source) from c (the app's): both stay.
  const again = await migrate(source, target, { tenants: ["t"] });
  assert.deepEqual(
    (await target.readItems("t", s.id)).map((i) => i.id),
    [a!.id, b!.id, written[0]!.id],
  );
  assert.deepEqual(again.deletedInSource, []);
  assert.equal(again.mismatches.length, 1);
  assert.match(again.mismatches[0]!.reason, /the target holds more items than the source/);
  // One deletion in the source cannot account for two foreign items: none is offered for pruning.
  assert.doesNotMatch(again.mismatches[0]!.reason, /--prune-deleted/);
  // Without the app's write, the one item the source deleted is named, with the way to remove it.
  await target.deleteItem("t", s.id, written[0]!.id);
  const named = await migrate(source, target, { tenants: ["t"] });
  assert.match(
    named.mismatches[0]!.reason,
    new RegExp(`1 item\\(s\\) the source no longer has \\(${a!.id}\\).*--prune-deleted`),
  );
  assert.equal((await target.readItems("t", s.id)).length, 2, "kept");
  const pruned = await migrate(source, target, { tenants: ["t"], pruneDeleted: true });
  assert.deepEqual(
    [pruned.mismatches, pruned.deletedInSource],
    [[], [{ tenant: "t", sessionId: s.id, itemIds: [a!.id] }]],
  );
  await Promise.all([source.close(), target.close()]);
});

test("migrate does not take equal counts for a complete copy when the source deleted a copied item and gained one", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const s = await source.create("t", { items: ["a", "b", "c"].map(say) });
  await source.update("t", s.id, { status: "archived" });
  assert.equal((await migrate(source, target, { tenants: ["t"] })).items, 3);
  // Reopened in the source, b deleted and d added: 3 items on both sides, not the same ones.
  await source.update("t", s.id, { status: "active" });
  const copied = await source.readItems("t", s.id);
  await source.deleteItem("t", s.id, copied[1]!.id);
  const { items: added } = await source.append("t", s.id, ["d"].map(say));
  const again = await migrate(source, target, { tenants: ["t"], pruneDeleted: true });
  // d is copied (the archived copy reopened for it, not refusing it), and nothing is "complete".
  assert.deepEqual([again.items, again.skipped], [1, 0]);
  // b, deleted in the source after it was copied, goes from the copy too.
  assert.deepEqual(
    (await target.readItems("t", s.id)).map((i) => i.id),
    [copied[0]!, copied[2]!, ...added].map((i) => i.id),
  );
  assert.equal((await target.get("t", s.id)).status, "active");
  assert.deepEqual(again.mismatches, []);
  assert.deepEqual(again.deletedInSource, [{ tenant: "t", sessionId: s.id, itemIds: [copied[1]!.id] }]);
  await Promise.all([source.close(), target.close()]);
});

test("migrate counts only sessions it did not copy as already complete, and reports a stale copy's fields", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const empty = await source.create("t", { state: { n: 1 } });
  const full = await source.create("t", { labels: ["a"], items: ["x"].map(say) });
  const first = await migrate(source, target, { tenants: ["t"] });
  assert.equal(first.sessions, 2);
  assert.equal(first.skipped, 0, "an empty session just copied is not 'already complete'");
  const again = await migrate(source, target, { tenants: ["t"] });
  assert.equal(again.skipped, 2);
  assert.deepEqual(again.mismatches, []);
  // Changed in the source after it was copied: the re-run must not call it equal.
  await source.patchState("t", empty.id, { n: 2 });
  await source.update("t", full.id, { labels: ["b"], metadata: { k: "v" } });
  const stale = await migrate(source, target, { tenants: ["t"] });
  // Both were created in one millisecond maybe, so their order is the ids': compare as sets.
  assert.deepEqual(
    stale.mismatches.map((m) => [m.sessionId, m.reason]).sort(),
    [
      [empty.id, "the target's copy differs in state; delete it there and migrate again"],
      [full.id, "the target's copy differs in metadata, labels; delete it there and migrate again"],
    ].sort(),
  );
  await Promise.all([source.close(), target.close()]);
});

test("migrate copies an archived session's items, then its status; a copy left archived and short is finished", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const s = await source.create("t", { items: ["a", "b", "c"].map(say) });
  await source.update("t", s.id, { status: "archived" });
  const report = await migrate(source, target, { tenants: ["t"], pageSize: 2 });
  assert.deepEqual(report.mismatches, []);
  assert.equal(report.items, 3);
  const copy = await target.get("t", s.id);
  assert.deepEqual([copy.status, copy.itemCount], ["archived", 3]);
  assert.deepEqual(await sessionChecksum(target, "t", s.id), await sessionChecksum(source, "t", s.id));
  // A re-run finds it complete.
  const again = await migrate(source, target, { tenants: ["t"] });
  assert.deepEqual([again.skipped, again.items, again.mismatches.length], [1, 0, 0]);

  // A copy an earlier run left archived with part of the items (or active, cut short before the
  // status was copied) is completed, not reported as differing.
  const partial = await createStore("memory:");
  const [first] = await source.readItems("t", s.id, { limit: 1 });
  await partial.create("t", { id: s.id, items: [{ id: first!.id, content: first!.content }] });
  await partial.update("t", s.id, { status: "archived" });
  const resumed = await migrate(source, partial, { tenants: ["t"] });
  assert.deepEqual(resumed.mismatches, []);
  assert.equal(resumed.items, 2);
  const done = await partial.get("t", s.id);
  assert.deepEqual([done.status, done.itemCount], ["archived", 3]);
  await Promise.all([source.close(), target.close(), partial.close()]);
});

test("migrate leaves out a session that expired before the target could create it, reports it, and carries on", async () => {
  const source = await createStore("memory:");
  // The target's clock is two hours ahead: a session listed in the source with one hour left has
  // expired by the time the target creates it (what a slow migration meets in real time).
  const HOUR = 3_600_000;
  const target = await createStore({ url: "memory:", clock: () => Date.now() + 2 * HOUR });
  const expiring = await source.create("t", { expiresAt: Date.now() + HOUR, items: ["a"].map(say) });
  const kept = await source.create("t", { items: ["b", "c"].map(say) });
  const report = await migrate(source, target, { tenants: ["t"] });
  assert.deepEqual(report.expired, [{ tenant: "t", sessionId: expiring.id }]);
  assert.deepEqual(report.mismatches, []);
  assert.equal(report.sessions, 1);
  assert.equal(report.items, 2);
  assert.deepEqual(await sessionChecksum(target, "t", kept.id), await sessionChecksum(source, "t", kept.id));
  await assert.rejects(target.get("t", expiring.id), { code: "not_found" });
  await Promise.all([source.close(), target.close()]);
});

test("migrate leaves out a session whose earlier copy in the target has expired since (invisible, id held)", async () => {
  const HOUR = 3_600_000;
  let ahead = 0;
  const source = await createStore("memory:");
  const target = await createStore({ url: "memory:", clock: () => Date.now() + ahead });
  const s = await source.create("t", { expiresAt: Date.now() + HOUR, items: ["a"].map(say) });
  const first = await migrate(source, target, { tenants: ["t"] });
  assert.deepEqual([first.sessions, first.expired], [1, []]);
  ahead = 2 * HOUR; // the target's copy has expired, not yet swept: its id is still taken
  const second = await migrate(source, target, { tenants: ["t"] });
  assert.deepEqual(second.expired, [{ tenant: "t", sessionId: s.id }]);
  assert.deepEqual([second.sessions, second.mismatches], [0, []]);
  await Promise.all([source.close(), target.close()]);
});

test("migrate copies a session the lifecycle archived from its archive, or reports it; never an empty copy", async () => {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-migrate-archived-"));
  const schema = uniqueSchema();
  const source = await createStore(`sqlite:${join(dir, "source.db")}`);
  const backend = createDirectoryArchiveBackend(join(dir, "archives"));
  try {
    const s = await source.create("t", { labels: ["x"], items: ["a", "b", "c"].map(say) });
    const [, b] = await source.readItems("t", s.id);
    await source.deleteItem("t", s.id, b!.id); // a gap: the archive keeps seqs 1 and 3
    const items = await source.readItems("t", s.id);
    const kept = await sessionChecksum(source, "t", s.id);
    assert.equal((await createArchiver(source, { backend }).archive("t", s.id)).archived, true);
    assert.deepEqual(await source.readItems("t", s.id), [], "a stub: the items are in the archive");

    // Without the archive: reported, and nothing is written to the target.
    const blind = await createStore("memory:");
    const refused = await migrate(source, blind, { tenants: ["t"] });
    assert.equal(refused.mismatches.length, 1);
    assert.equal(refused.mismatches[0]!.sessionId, s.id);
    assert.match(
      refused.mismatches[0]!.reason,
      /archived by the lifecycle archiver: its 2 item\(s\) are in the archive backend/,
    );
    await assert.rejects(blind.get("t", s.id), { code: "not_found" });
    await blind.close();

    // With it: the items, verified against the archive, into SQLite and Postgres targets.
    for (const url of [`sqlite:${join(dir, "target.db")}`, schemaUrl(schema)]) {
      const target = await createStore(url);
      try {
        const readArchive = (tenant: string, id: string) => backend.read(tenant, id);
        const report = await migrate(source, target, { tenants: ["t"], pageSize: 1, readArchive });
        assert.deepEqual(report.mismatches, [], url);
        assert.equal(report.items, 2);
        const copy = await target.get("t", s.id);
        assert.deepEqual([copy.status, copy.itemCount, copy.labels], ["archived", 2, ["x"]]);
        assert.deepEqual(
          (await target.readItems("t", s.id)).map((i) => [i.id, i.content]),
          items.map((i) => [i.id, i.content]),
        );
        assert.deepEqual(await sessionChecksum(target, "t", s.id), kept);
        const again = await migrate(source, target, { tenants: ["t"], readArchive });
        assert.deepEqual([again.skipped, again.items, again.mismatches.length], [1, 0, 0]);
      } finally {
        await target.close();
      }
    }

    // An archive that is not where it was looked for is reported, not taken for an empty session.
    const elsewhere = createDirectoryArchiveBackend(join(dir, "elsewhere"));
    const other = await createStore("memory:");
    const lost = await migrate(source, other, {
      tenants: ["t"],
      readArchive: (tenant, id) => elsewhere.read(tenant, id),
    });
    await other.close();
    assert.equal(lost.mismatches.length, 1);
    assert.match(lost.mismatches[0]!.reason, /its archive cannot be read: No archive of session/);
    // The report is the operator's: it says where the archive was looked for (an API answer would not).
    assert.ok(lost.mismatches[0]!.reason.includes(join(dir, "elsewhere")), lost.mismatches[0]!.reason);
  } finally {
    await source.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("migrate refuses a malformed tenant before copying any tenant, naming it", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  await source.create("default", { items: [say("a")] });
  await assert.rejects(migrate(source, target, { tenants: ["default", "bad tenant!"] }), {
    code: "invalid_argument",
    param: "tenant",
    message: /^Cannot migrate tenant 'bad tenant!': Tenant must be/,
  });
  assert.deepEqual((await target.list("default")).data, [], "nothing of 'default' was copied");
  await Promise.all([source.close(), target.close()]);
});
