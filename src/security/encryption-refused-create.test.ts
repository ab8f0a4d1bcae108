/**
 * A create the store refuses leaves no data-key record behind (the key is written first, for
 * crash safety, and dropped again on refusal), on SQLite and Postgres; and dropping it never
 * takes the key of a concurrent create of the same id that succeeded.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { createStore } from "../store/create-store.ts";
import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createPostgresDriver } from "../store/drivers/postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { newSessionId } from "../store/ids.ts";
import type { CreateSessionInput, Session, SessionStore } from "../store/types.ts";
import { createKeyring } from "./encryption/keyring.ts";
import { withEncryption } from "./encryption/with-encryption.ts";

const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const dir = mkdtempSync(join(tmpdir(), "holdfast-enc-refused-"));
const schema = uniqueSchema("hf_encref");
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});
const keyRecords = async (inner: SessionStore): Promise<number> =>
  (await inner.list("_hf_data_key", { limit: 100 })).data.length;

const REFUSED: [string, CreateSessionInput, string][] = [
  ["a past expiry", { expiresAt: Date.now() - 1000, items: [msg("x")] }, "expires_at"],
  ["a bad owner", { owner: 5 as unknown as string }, "owner"],
  ["bad labels", { labels: "x" as unknown as string[] }, "labels"],
  ["a malformed item", { items: [{ content: 5 as unknown as never }] }, "items[0].content"],
  ["bad metadata", { metadata: { a: 1 as unknown as string } }, "metadata.a"],
];

for (const [driver, open] of [
  ["sqlite", () => createStore(`sqlite:${join(dir, "refused.db")}`)],
  [
    "postgres",
    async () => createSessionStore(await createPostgresDriver({ connectionString: schemaUrl(schema) })),
  ],
] as const) {
  describe(`refused creates under encryption (${driver})`, () => {
    it("leave no data-key record, and an id that exists keeps its key", async () => {
      const inner = await open();
      try {
        const store = withEncryption(inner, { keyring });
        const kept = await store.create("acme", { state: { s: "kept" }, items: [msg("kept")] });
        assert.equal(await keyRecords(inner), 1);
        for (const [what, input, param] of REFUSED) {
          await assert.rejects(store.create("acme", { id: newSessionId(), ...input }), { param }, what);
          assert.equal(await keyRecords(inner), 1, `${what} left a data key behind`);
        }
        await assert.rejects(store.create("acme", { id: kept.id }), { code: "conflict" });
        assert.equal(await keyRecords(inner), 1);
        const reader = withEncryption(inner, { keyring });
        assert.deepEqual((await reader.get("acme", kept.id)).state, { s: "kept" });
        assert.ok(JSON.stringify(await reader.readItems("acme", kept.id)).includes("kept"));
      } finally {
        await inner.close();
      }
    });
  });
}

/** Holds a tenant's creates until released: two instances' steps in a chosen order. */
class HeldCreates extends DelegatingStore {
  #release: Promise<void> = Promise.resolve();
  #arrive: () => void = () => undefined;
  /** Settles when a held create has arrived (the decorator has written its key by then). */
  arrived: Promise<void> = Promise.resolve();
  open: () => void = () => undefined;
  hold(): void {
    this.#release = new Promise((resolve) => {
      this.open = resolve;
    });
    this.arrived = new Promise((resolve) => {
      this.#arrive = resolve;
    });
  }
  override async create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    if (tenant === "acme") {
      this.#arrive();
      await this.#release;
    }
    return super.create(tenant, input);
  }
}

describe("a refused create racing an accepted one of the same id", () => {
  for (const acceptedFirst of [true, false]) {
    it(`keeps the accepted session's key (accepted one finishes ${acceptedFirst ? "first" : "last"})`, async () => {
      const clock = { now: Date.now() };
      const base = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
      const [heldA, heldB] = [new HeldCreates(base), new HeldCreates(base)];
      const [a, b] = [withEncryption(heldA, { keyring }), withEncryption(heldB, { keyring })];
      const id = newSessionId();
      heldA.hold();
      heldB.hold();
      // A makes the key, then its create is refused (its expiry passes); B finds A's key and is accepted.
      const refused = a.create("acme", { id, expiresAt: clock.now + 1000, state: { who: "a" } });
      const refusedDone = refused.then(
        () => assert.fail("A's create must be refused"),
        (error) => assert.equal(error.param, "expires_at"),
      );
      await heldA.arrived;
      const accepted = b.create("acme", { id, state: { who: "b" }, items: [msg("b's item")] });
      await heldB.arrived;
      clock.now += 2000;
      if (acceptedFirst) {
        heldB.open();
        await accepted;
        heldA.open();
        await refusedDone;
      } else {
        heldA.open();
        await refusedDone;
        heldB.open();
        await accepted;
      }
      const reader = withEncryption(base, { keyring });
      assert.deepEqual((await reader.get("acme", id)).state, { who: "b" });
      assert.ok(JSON.stringify(await reader.readItems("acme", id)).includes("b's item"));
      await base.close();
    });
  }
});
