import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../src/store/types.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

/** Strings every driver must give back exactly: astral characters, NUL, lone surrogates. */
const ODD_TEXT = ["😀𝄞 é", "a\u0000b", "a\ud800b", "\udc00", "\\ud800", "\ud83d\ude00"];

/** JSON with keys that are special to JavaScript objects (parsed, so `__proto__` is an own key). */
const PROTO_KEYS = (): JsonObject => JSON.parse('{"__proto__":{"x":1},"constructor":{"y":2},"toString":3}');

export function testValueCases({ store, tenant }: ConformanceContext): void {
  describe("values", () => {
    it("round-trips odd strings and numbers exactly in items, state and metadata", async () => {
      const t = tenant();
      const content = {
        type: "message",
        role: "user",
        content: ODD_TEXT.map((text) => ({ type: "input_text", text })),
        numbers: [1e308, 5e-324, 2 ** 53 + 2, -1.5e-7, 0.1, 123456789.12345679],
      };
      const state = { texts: ODD_TEXT, [ODD_TEXT[2]!]: ODD_TEXT[3]!, n: 2 ** 60 };
      const metadata = { [ODD_TEXT[1]!]: ODD_TEXT[2]!, k: ODD_TEXT[0]! };
      const s = await store().create(t, { state, metadata, items: [{ content }] });
      const got = await store().get(t, s.id);
      assert.deepEqual(got.state, state);
      assert.deepEqual(got.metadata, metadata);
      const [item] = await store().readItems(t, s.id);
      assert.ok(item);
      assert.deepEqual(item.content, content);
      assert.deepEqual((await store().getItem(t, s.id, item.id)).content, content);
      assert.deepEqual((await store().readWindow(t, s.id, { maxTokens: 1e9 })).items[0]?.content, content);
      const fork = await store().fork(t, s.id);
      assert.deepEqual((await store().readItems(t, fork.id))[0]?.content, content);
    });

    it("deletes an item whatever its text holds, keeping the counters exact", async () => {
      const t = tenant();
      const s = await store().create(t, {
        items: [...ODD_TEXT.map((text) => message("user", text)), message("user", "kept")],
      });
      const items = await store().readItems(t, s.id);
      let session = s;
      for (const item of items.slice(0, -1)) session = await store().deleteItem(t, s.id, item.id);
      const kept = items.at(-1)!;
      assert.deepEqual([session.itemCount, session.tokenCount], [1, kept.tokens]);
      assert.deepEqual(await store().readItems(t, s.id), [kept]);
    });

    it("keeps keys like __proto__ and constructor as plain keys in items, state, patches and metadata", async () => {
      const t = tenant();
      const content = { type: "message", ...PROTO_KEYS() };
      const s = await store().create(t, {
        state: PROTO_KEYS(),
        metadata: JSON.parse('{"__proto__":"p","constructor":"c"}'),
        items: [{ content }],
      });
      const expected = (value: unknown) => JSON.stringify(value);
      assert.equal(expected(s.metadata), '{"__proto__":"p","constructor":"c"}');
      const [item] = await store().readItems(t, s.id);
      assert.equal(expected(item?.content), expected(content));
      const got = await store().get(t, s.id);
      assert.equal(expected(got.state), expected(PROTO_KEYS()));
      assert.equal(expected(got.metadata), '{"__proto__":"p","constructor":"c"}');
      const patched = await store().patchState(
        t,
        s.id,
        JSON.parse('{"__proto__":{"x":null,"z":2},"constructor":null,"hasOwnProperty":{"a":1}}'),
      );
      const state = '{"__proto__":{"z":2},"toString":3,"hasOwnProperty":{"a":1}}';
      assert.equal(expected(patched.state), state);
      assert.equal(expected((await store().get(t, s.id)).state), state);
      assert.equal(Object.getPrototypeOf(patched.state), Object.prototype);
      const fresh = await store().create(t);
      const added = await store().patchState(t, fresh.id, JSON.parse('{"__proto__":{"polluted":1}}'));
      assert.equal(expected(added.state), '{"__proto__":{"polluted":1}}');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it("bounds an item's token count, so session totals stay exact and readable", async () => {
      const t = tenant();
      const most = 2 ** 31 - 1;
      const s = await store().create(t, { items: [{ ...message("user", "a"), tokens: most }] });
      for (const tokens of [most + 1, Number.MAX_SAFE_INTEGER, -1, 1.5]) {
        await rejectsWithCode(
          store().append(t, s.id, [{ ...message("user", "b"), tokens }]),
          "invalid_argument",
        );
      }
      await store().append(t, s.id, [{ ...message("user", "c"), tokens: most }]);
      assert.equal((await store().get(t, s.id)).tokenCount, 2 * most);
      assert.equal((await store().list(t)).data[0]?.tokenCount, 2 * most);
      assert.equal((await store().readWindow(t, s.id, { maxTokens: most })).tokens, most);
    });

    it("refuses NUL and lone surrogates in fields stored as plain text, writing nothing", async () => {
      const t = tenant();
      for (const bad of ["a\u0000b", "a\ud800", "\udc00b"]) {
        await rejectsWithCode(store().create(t, { owner: bad }), "invalid_argument");
        await rejectsWithCode(store().list(t, { owner: bad }), "invalid_argument");
        const contents: JsonObject[] = [
          { type: bad },
          { type: "message", role: bad },
          { type: "message", status: bad },
          { type: "function_call", call_id: bad, name: "f", arguments: "{}" },
        ];
        for (const content of contents) {
          await rejectsWithCode(store().create(t, { items: [{ content }] }), "invalid_argument");
        }
        await rejectsWithCode(
          store().create(t, { items: [{ ...message("user", "x"), turnId: bad }] }),
          "invalid_argument",
        );
      }
      assert.deepEqual((await store().list(t)).data, []);
      const s = await store().create(t, { owner: "o" });
      await rejectsWithCode(store().update(t, s.id, { owner: "a\u0000" }), "invalid_argument");
      await rejectsWithCode(store().append(t, s.id, [{ content: { type: "m\ud800" } }]), "invalid_argument");
      await rejectsWithCode(
        store().readWindow(t, s.id, { maxTokens: 10, excludeTypes: ["a\u0000"] }),
        "invalid_argument",
      );
      const after = await store().get(t, s.id);
      assert.deepEqual([after.owner, after.version, after.itemCount], ["o", 1, 0]);
    });
  });
}
