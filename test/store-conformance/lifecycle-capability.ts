/**
 * Conformance of the optional LifecycleCapable driver capability (src/store/driver.ts): every
 * driver that offers it runs these cases from its `*-lifecycle.test.ts` file. The sweeper relies
 * on nothing beyond what is specified here.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  hasStorageTotals,
  isLifecycleCapable,
  type LifecycleCapable,
  type StoreDriver,
} from "../../src/store/driver.ts";
import type { Session, SessionStore } from "../../src/store/types.ts";
import { message } from "./index.ts";

export interface LifecycleConformanceOptions {
  name: string;
  /** Opens a store (core over the driver under test) whose clock reads `clock()`. */
  open: (clock: () => number) => Promise<SessionStore>;
}

function driverOf(store: SessionStore): StoreDriver & LifecycleCapable {
  const driver = (store as unknown as { driver?: StoreDriver }).driver;
  assert.ok(driver && isLifecycleCapable(driver), "the driver must be LifecycleCapable");
  return driver;
}

export function testLifecycleCapability(options: LifecycleConformanceOptions): void {
  describe(`lifecycle capability: ${options.name}`, () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    let store: SessionStore | undefined;
    before(async () => {
      store = await options.open(() => clock.now);
    });
    after(async () => {
      await store?.close();
    });
    const s = (): SessionStore => {
      assert.ok(store);
      return store;
    };
    const d = (): StoreDriver & LifecycleCapable => driverOf(s());
    const tenant = (): string => `t-${randomBytes(6).toString("hex")}`;

    async function seed(
      t: string,
      n: number,
      extra: { idleTtlMs?: number; owner?: string } = {},
    ): Promise<Session[]> {
      const out: Session[] = [];
      for (let i = 0; i < n; i++) {
        out.push(
          await s().create(t, {
            owner: extra.owner ?? `o${i % 2}`,
            idleTtlMs: extra.idleTtlMs ?? null,
            items: [message("user", `hello ${i}`), message("assistant", `hi ${i}`)],
          }),
        );
      }
      return out;
    }

    it("scans expired sessions that reads no longer see, with filters", async () => {
      const t = tenant();
      const idle = await seed(t, 3, { idleTtlMs: 60_000 });
      const fresh = await seed(t, 1);
      await s().update(t, fresh[0]!.id, { pinned: true });
      clock.now += 120_000;
      await assert.rejects(s().get(t, idle[0]!.id), { code: "not_found" });
      const expired = await d().scanSessions({ tenant: t, expiredAt: clock.now, limit: 100 });
      assert.deepEqual(expired.map((x) => x.id).sort(), idle.map((x) => x.id).sort());
      assert.equal(expired[0]!.itemCount, 2);
      assert.ok(expired[0]!.bytes > 0);
      const pinned = await d().scanSessions({ tenant: t, pinned: true, limit: 100 });
      assert.deepEqual(
        pinned.map((x) => x.id),
        [fresh[0]!.id],
      );
      const o1 = await d().scanSessions({ tenant: t, owner: "o1", limit: 100 });
      assert.ok(o1.every((x) => x.owner === "o1") && o1.length >= 1);
      const idleBefore = await d().scanSessions({ tenant: t, idleBefore: clock.now - 60_000, limit: 100 });
      assert.equal(idleBefore.length, 4);
      assert.deepEqual(await d().scanSessions({ tenant: tenant(), limit: 10 }), []);
      const one = await d().scanSessions({ tenant: t, id: idle[1]!.id, limit: 10 });
      assert.deepEqual(
        one.map((x) => x.id),
        [idle[1]!.id],
      );
    });

    it("pages a scan by keyset, each session exactly once, ascending (tenant, id)", async () => {
      const t = tenant();
      const made = await seed(t, 7);
      const seen: string[] = [];
      let afterKey: { tenant: string; id: string } | undefined;
      for (;;) {
        const page = await d().scanSessions({ tenant: t, limit: 3, after: afterKey });
        if (page.length === 0) break;
        seen.push(...page.map((x) => x.id));
        const last = page.at(-1)!;
        afterKey = { tenant: last.tenant, id: last.id };
      }
      assert.deepEqual(seen, made.map((x) => x.id).sort());
    });

    it("scans every tenant in ascending (tenant, id) order, paged by keyset", async () => {
      const base = tenant();
      const [t1, t2] = [`${base}-a`, `${base}-b`];
      const made = [...(await seed(t2, 3)), ...(await seed(t1, 2))];
      const seen: Session[] = [];
      let afterKey: { tenant: string; id: string } | undefined = { tenant: base, id: "" };
      for (;;) {
        const page = await d().scanSessions({ limit: 2, after: afterKey });
        if (page.length === 0) break;
        seen.push(...page);
        const last = page.at(-1)!;
        afterKey = { tenant: last.tenant, id: last.id };
        if (last.tenant > t2) break;
      }
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [seen[i - 1]!, seen[i]!];
        assert.ok(a.tenant < b.tenant || (a.tenant === b.tenant && a.id < b.id), "strictly ascending");
      }
      const ours = seen.filter((x) => x.tenant === t1 || x.tenant === t2).map((x) => `${x.tenant}/${x.id}`);
      const expected = made.map((x) => `${x.tenant}/${x.id}`).sort();
      assert.deepEqual(ours, expected);
      const expired = await d().scanSessions({
        expiredAt: clock.now,
        limit: 10,
        after: { tenant: t1, id: "" },
      });
      assert.ok(
        expired.every((x) => x.tenant !== t1 && x.tenant !== t2),
        "no seeded session is expired",
      );
    });

    it("storage totals per tenant: active sessions, items and bytes not archived", async () => {
      const t = tenant();
      const a = await s().create(t, { items: [message("user", "one"), message("assistant", "two")] });
      await s().patchState(t, a.id, { note: "é".repeat(40) });
      const b = await s().create(t, { items: [message("user", "three")], idleTtlMs: 1000 });
      const c = await s().create(t, { items: [message("user", "four")] });
      await s().update(t, c.id, { status: "archived" });
      const aNow = await s().get(t, a.id);
      clock.now += 5000; // b expires but stays stored until purged
      // What the gauges compute from a scan, for every driver.
      const rows = await d().scanSessions({ tenant: t, limit: 100 });
      assert.equal(rows.length, 3);
      const live = (x: Session): boolean =>
        (x.idleTtlMs === null || x.lastActiveAt + x.idleTtlMs > clock.now) &&
        (x.expiresAt === null || x.expiresAt > clock.now);
      const stored = rows.filter((x) => x.status !== "archived");
      const expected = {
        tenant: t,
        sessionsActive: rows.filter((x) => x.status === "active" && live(x)).length,
        items: stored.reduce((n, x) => n + x.itemCount, 0),
        bytes: stored.reduce((n, x) => n + x.bytes, 0),
      };
      assert.deepEqual(expected, { tenant: t, sessionsActive: 1, items: 3, bytes: aNow.bytes + b.bytes });
      // Drivers with the aggregate answer the same in one query.
      const driver = d();
      if (hasStorageTotals(driver)) {
        const totals = await driver.storageTotals(clock.now);
        assert.deepEqual(
          totals.find((r) => r.tenant === t),
          expected,
        );
        const other = tenant();
        await s().create(other);
        const again = await driver.storageTotals(clock.now);
        assert.deepEqual(
          again.find((r) => r.tenant === other),
          { tenant: other, sessionsActive: 1, items: 0, bytes: 2 },
          "an empty session's state `{}` is 2 bytes",
        );
      }
    });

    it("reads the items of an expired session", async () => {
      const t = tenant();
      const [x] = await seed(t, 1, { idleTtlMs: 1000 });
      clock.now += 5000;
      const items = await d().scanItems(t, x!.id, 0, 100);
      assert.deepEqual(
        items.map((i) => i.seq),
        [1, 2],
      );
      assert.deepEqual(
        (await d().scanItems(t, x!.id, 1, 100)).map((i) => i.seq),
        [2],
      );
      assert.deepEqual(await d().scanItems(t, "conv_00000000000000000000000000000000", 0, 10), []);
    });

    it("purges sessions with their items and operations, counting items and bytes", async () => {
      const t = tenant();
      const [a, b, c] = await seed(t, 3, { idleTtlMs: 1000 });
      await s().append(t, a!.id, [message("user", "more")], { operationId: "op-1" });
      const aNow = await s().get(t, a!.id);
      clock.now += 5000;
      const result = await d().purgeSessions([
        { tenant: t, id: a!.id, version: aNow.version },
        { tenant: t, id: b!.id, version: b!.version + 7 },
        { tenant: t, id: "conv_00000000000000000000000000000000" },
      ]);
      assert.equal(result.sessions, 1, "a moved version and a missing id are skipped");
      assert.equal(result.items, 3);
      assert.equal(result.bytes, aNow.bytes);
      assert.deepEqual(result.removed, [`${t}\u0000${a!.id}`]);
      const left = await d().scanSessions({ tenant: t, limit: 10 });
      assert.deepEqual(left.map((x) => x.id).sort(), [b!.id, c!.id].sort());
      assert.deepEqual(await d().scanItems(t, a!.id, 0, 10), []);
      // The id is free again and no idempotency record survived.
      clock.now += 1;
      const again = await s().create(t, { id: a!.id });
      const replay = await s().append(t, again.id, [message("user", "other")], { operationId: "op-1" });
      assert.equal(replay.replayed, false);
    });

    it("turns a session into a visible archive stub and restores its items", async () => {
      const t = tenant();
      const [x] = await seed(t, 1, { idleTtlMs: 1000 });
      const items = await d().scanItems(t, x!.id, 0, 100);
      clock.now += 5000;
      assert.equal(await d().archiveStub(t, x!.id, { version: x!.version + 1, now: clock.now }), null);
      const stub = await d().archiveStub(t, x!.id, { version: x!.version, now: clock.now });
      assert.ok(stub);
      assert.equal(stub.status, "archived");
      assert.equal(stub.itemCount, 2, "counters are kept");
      assert.equal(stub.tokenCount, x!.tokenCount);
      assert.equal(stub.version, x!.version + 1);
      assert.equal(stub.idleTtlMs, null);
      const visible = await s().get(t, x!.id);
      assert.equal(visible.status, "archived");
      assert.deepEqual(await d().scanItems(t, x!.id, 0, 100), []);
      // New seqs would follow items that are in cold storage: refused, nothing written.
      await assert.rejects(s().append(t, x!.id, [message("user", "into the stub")]), {
        code: "session_archived",
      });
      assert.equal((await s().get(t, x!.id)).version, stub.version);
      assert.deepEqual(await s().readItems(t, x!.id), [], "a stub's reads answer empty");
      assert.deepEqual((await s().readWindow(t, x!.id, { maxTokens: 1000 })).items, []);
      const restored = await d().restoreItems(t, x!.id, {
        version: stub.version,
        items,
        idleTtlMs: 1000,
        now: clock.now,
      });
      assert.ok(restored);
      assert.equal(restored.status, "active");
      assert.equal(restored.itemCount, 2);
      assert.equal(restored.idleTtlMs, 1000);
      assert.deepEqual(await s().readItems(t, x!.id), items);
      const appended = await s().append(t, x!.id, [message("user", "after restore")]);
      assert.equal(appended.firstSeq, 3);
      assert.equal(
        await d().restoreItems(t, x!.id, { version: stub.version, items, idleTtlMs: null, now: clock.now }),
        null,
      );
    });

    it("keeps the gaps of deleted items through scans, archive stubs, restores and purges", async () => {
      const t = tenant();
      const x = await s().create(t, {
        idleTtlMs: 1000,
        items: ["a", "b", "c", "d", "e"].map((text) => ({ ...message("user", text), tokens: 2 })),
      });
      const all = await s().readItems(t, x.id);
      await s().deleteItem(t, x.id, all[1]!.id);
      const head = await s().deleteItem(t, x.id, all[4]!.id);
      const items = await d().scanItems(t, x.id, 0, 2);
      assert.deepEqual(
        items.map((i) => i.seq),
        [1, 3],
        "a scan page holds `limit` items, whatever the gaps",
      );
      assert.deepEqual(
        (await d().scanItems(t, x.id, 1, 100)).map((i) => i.seq),
        [3, 4],
      );
      const kept = await d().scanItems(t, x.id, 0, 100);
      const stub = await d().archiveStub(t, x.id, { version: head.version, now: clock.now });
      assert.ok(stub);
      assert.deepEqual([stub.itemCount, stub.lastSeq, stub.tokenCount], [3, 5, 6]);
      const restored = await d().restoreItems(t, x.id, {
        version: stub.version,
        items: kept,
        idleTtlMs: 1000,
        now: clock.now,
      });
      assert.ok(restored);
      assert.deepEqual([restored.itemCount, restored.lastSeq, restored.tokenCount], [3, 5, 6]);
      assert.deepEqual(await s().readItems(t, x.id), kept);
      const appended = await s().append(t, x.id, [message("user", "f")]);
      assert.equal(appended.firstSeq, 6, "seqs of deleted items are not reused after a restore");
      const now = await s().get(t, x.id);
      clock.now += 5000;
      const purged = await d().purgeSessions([{ tenant: t, id: x.id, version: now.version }]);
      assert.deepEqual([purged.sessions, purged.items], [1, 4]);
    });

    it("grants a lease to one holder at a time; an expired lease can be taken over", async () => {
      const name = `sweeper-${randomBytes(4).toString("hex")}`;
      const now = clock.now;
      assert.equal(await d().acquireLease(name, "a", 1000, now), true);
      assert.equal(await d().acquireLease(name, "b", 1000, now + 10), false);
      assert.equal(await d().acquireLease(name, "a", 1000, now + 10), true, "re-acquiring is renewing");
      assert.equal(await d().renewLease(name, "a", 1000, now + 500), true);
      assert.equal(await d().renewLease(name, "b", 1000, now + 500), false);
      assert.equal(await d().acquireLease(name, "b", 1000, now + 1400), false, "renewed until now+1500");
      assert.equal(await d().acquireLease(name, "b", 1000, now + 1500), true, "expired: b takes over");
      assert.equal(await d().renewLease(name, "a", 1000, now + 1600), false, "a lost it");
      await d().releaseLease(name, "a");
      assert.equal(await d().acquireLease(name, "c", 1000, now + 1600), false, "a cannot release b's lease");
      await d().releaseLease(name, "b");
      assert.equal(await d().acquireLease(name, "c", 1000, now + 1600), true);
      await d().releaseLease(name, "c");
    });
  });
}
