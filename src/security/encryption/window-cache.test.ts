import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createSessionStore } from "../../store/core.ts";
import { readHead } from "../../store/decorators/delegating-store.ts";
import { createMemoryDriver } from "../../store/drivers/memory.ts";
import type { ItemInput, SessionStore, Window } from "../../store/types.ts";
import { createKeyring } from "./keyring.ts";
import { withEncryption } from "./with-encryption.ts";

const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);

/** Deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a window says, minus what legitimately differs between stores (sizes, write times). */
function shape(window: Window): unknown {
  return {
    tokens: window.tokens,
    fromSeq: window.fromSeq,
    truncated: window.truncated,
    sessionVersion: window.sessionVersion,
    items: window.items.map((i) => [i.seq, i.id, i.type, i.role, i.status, i.tokens, i.turnId, i.content]),
  };
}

let next = 0;
function randomItems(rand: () => number): ItemInput[] {
  const out: ItemInput[] = [];
  const count = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < count; k++) {
    const n = next++;
    const tokens = Math.floor(rand() * 120);
    const kind = rand();
    if (kind < 0.1) {
      out.push({
        id: `rec_${n}`,
        tokens: rand() < 0.5 ? 0 : tokens % 40,
        content: { type: "bookkeeping", n },
      });
    } else if (kind < 0.25) {
      // A call and (usually) its output in the same append; sometimes the output comes later.
      out.push({
        id: `fc_${n}`,
        tokens,
        content: { type: "function_call", call_id: `call_${n}`, name: "f", arguments: "{}" },
      });
      if (rand() < 0.7) {
        out.push({
          id: `fco_${n}`,
          tokens: Math.floor(rand() * 120),
          content: { type: "function_call_output", call_id: `call_${n}`, output: `out ${n}` },
        });
      }
    } else {
      out.push({
        id: `msg_${n}`,
        tokens,
        content: {
          type: "message",
          role: kind < 0.6 ? "user" : "assistant",
          content: [{ type: "input_text", text: `t${n}` }],
        },
      });
    }
  }
  return out;
}

describe("encrypted windows kept per session version", () => {
  it("match the plain store's windows through random appends and reads", async () => {
    for (const seed of [1, 2, 3, 4]) {
      const rand = prng(seed);
      const plain = createSessionStore(createMemoryDriver());
      const enc = withEncryption(createSessionStore(createMemoryDriver()), { keyring });
      const id = `conv_windowcache${seed}aaaaaaaa`;
      await plain.create("t", { id });
      await enc.create("t", { id });
      for (let step = 0; step < 150; step++) {
        const items = randomItems(rand);
        await plain.append("t", id, items);
        await enc.append("t", id, items);
        // Mostly one budget (the cache's case), sometimes another (a miss), including 0.
        const maxTokens = rand() < 0.85 ? 400 : [0, 60, 2000][Math.floor(rand() * 3)]!;
        const reads = rand() < 0.3 ? 2 : 1;
        for (let r = 0; r < reads; r++) {
          // Even seeds read mostly with an exclusion (the gateway's case), odd ones mostly without.
          const excluding = rand() < (seed % 2 === 0 ? 0.85 : 0.15);
          const query = excluding ? { maxTokens, excludeTypes: ["bookkeeping"] } : { maxTokens };
          const want = shape(await plain.readWindow("t", id, query));
          assert.deepEqual(shape(await enc.readWindow("t", id, query)), want, `seed ${seed} step ${step}`);
        }
      }
    }
  });

  it("never serves a window another instance has changed, and hands out fresh objects", async () => {
    const inner: SessionStore = createSessionStore(createMemoryDriver());
    const a = withEncryption(inner, { keyring });
    const b = withEncryption(inner, { keyring });
    const msg = (text: string): ItemInput => ({
      content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
    });
    const s = await a.create("t", { items: [msg("one")] });
    const texts = async (store: SessionStore) =>
      (await store.readWindow("t", s.id, { maxTokens: 10_000 })).items.map(
        (i) => (i.content.content as { text: string }[])[0]!.text,
      );
    assert.deepEqual(await texts(a), ["one"]);
    await b.append("t", s.id, [msg("two")]);
    assert.deepEqual(await texts(a), ["one", "two"]);
    // a's own append follows b's: the kept window must not be carried over b's unseen write.
    await b.append("t", s.id, [msg("three")]);
    await a.append("t", s.id, [msg("four")]);
    assert.deepEqual(await texts(a), ["one", "two", "three", "four"]);
    await b.patchState("t", s.id, { x: 1 });
    assert.deepEqual(await texts(a), ["one", "two", "three", "four"]);

    // Item deletions, here and on the other instance, show at once, and later appends stay right.
    const ids = (await a.readWindow("t", s.id, { maxTokens: 10_000 })).items.map((i) => i.id);
    await a.deleteItem("t", s.id, ids[1]!);
    assert.deepEqual(await texts(a), ["one", "three", "four"]);
    await a.append("t", s.id, [msg("five")]);
    assert.deepEqual(await texts(a), ["one", "three", "four", "five"]);
    await b.deleteItem("t", s.id, ids[2]!);
    assert.deepEqual(await texts(a), ["one", "four", "five"]);
    await a.append("t", s.id, [msg("six")]);
    assert.deepEqual(await texts(a), ["one", "four", "five", "six"]);
    assert.deepEqual(await texts(b), ["one", "four", "five", "six"]);

    const first = await a.readWindow("t", s.id, { maxTokens: 10_000 });
    (first.items[0]!.content as { role: string }).role = "mutated";
    first.items[0]!.tokens = -1;
    const again = await a.readWindow("t", s.id, { maxTokens: 10_000 });
    assert.equal(again.items[0]!.content.role, "user");
    assert.notEqual(again.items[0]!.tokens, -1);

    // Deleted and re-created under the same id by another instance: a different session.
    await b.delete("t", s.id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await b.create("t", { id: s.id, items: [msg("new")] });
    await b.append("t", s.id, [msg("session")]);
    await b.append("t", s.id, [msg("here")]);
    await b.append("t", s.id, [msg("now")]);
    await b.patchState("t", s.id, { y: 1 });
    const fresh = await a.readWindow("t", s.id, { maxTokens: 10_000 });
    assert.deepEqual(
      fresh.items.map((i) => (i.content.content as { text: string }[])[0]!.text),
      ["new", "session", "here", "now"],
    );
  });

  it("checks a kept window against the inner store's head, not a whole get, and offers head itself", async () => {
    const inner = createSessionStore(createMemoryDriver());
    const calls: string[] = [];
    const counted = new Proxy(inner, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (name === "get" || name === "head") calls.push(name);
          return value.apply(target, args);
        };
      },
    });
    const store = withEncryption(counted, { keyring });
    const s = await store.create("t", {
      items: [{ content: { type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] } }],
    });
    await store.readWindow("t", s.id, { maxTokens: 1000 });
    calls.length = 0;
    const hit = await store.readWindow("t", s.id, { maxTokens: 1000 });
    assert.equal(hit.items.length, 1);
    assert.deepEqual(calls, ["head"]);
    assert.deepEqual(await store.head("t", s.id), await readHead(inner, "t", s.id));
  });
});
