/**
 * The item and state size limits (`maxItemBytes` / `maxStateBytes`, 1 MiB by default) mean the
 * caller's bytes — the serialized JSON of an item's content (id left out) or of the state — on
 * every store, encrypted ones included (whose stored form is larger): a value at the limit is
 * stored and read back unchanged, one byte more is `payload_too_large` naming its own size, and
 * nothing of the refused write is left.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonObject } from "../../src/store/types.ts";
import { LIMITS } from "../../src/store/validate.ts";
import { type ConformanceContext, message } from "./index.ts";

/** `fields` plus `key` filled (with 2-byte characters: bytes, not characters, count) to `bytes` of JSON. */
export function sizedBody(bytes: number, fields: JsonObject, key: string): JsonObject {
  const room = bytes - Buffer.byteLength(JSON.stringify({ ...fields, [key]: "" }));
  const body = { ...fields, [key]: "é".repeat(Math.floor(room / 2)) + "x".repeat(room % 2) };
  assert.equal(Buffer.byteLength(JSON.stringify(body)), bytes);
  return body;
}

const text = (bytes: number) => sizedBody(bytes, { type: "message", role: "user" }, "text");
/** Nearly all of it a clear field (`call_id`), which an encrypted store keeps beside the sealed body. */
const call = (bytes: number) => sizedBody(bytes, { type: "function_call_output", output: "ok" }, "call_id");

async function refusedAs(promise: Promise<unknown>, param: string, bytes: number, limit: number) {
  await assert.rejects(promise, (error: { code?: string; param?: string; message?: string }) => {
    assert.equal(error.code, "payload_too_large", String(error));
    assert.equal(error.param, param);
    assert.equal(error.message, `${param} is ${bytes} bytes; the limit is ${limit} bytes.`);
    return true;
  });
}

export function testSizeLimitCases({ store, tenant }: ConformanceContext): void {
  describe("size limits", () => {
    const max = LIMITS.itemBytes;

    it("an item of exactly the limit is stored unchanged; one byte more is refused with its own size", async () => {
      const t = tenant();
      for (const body of [text, call]) {
        const created = await store().create(t, { items: [{ content: body(max) }] });
        const s = await store().create(t);
        const appended = await store().append(t, s.id, [message("user", "before"), { content: body(max) }]);
        assert.deepEqual((await store().readItems(t, created.id))[0]?.content, body(max));
        assert.deepEqual((await store().readItems(t, s.id))[1]?.content, body(max));
        await refusedAs(store().append(t, s.id, [{ content: body(max + 1) }]), "items[0]", max + 1, max);
        const batch = [message("user", "ok"), { content: body(max + 1) }];
        await refusedAs(store().append(t, s.id, batch), "items[1]", max + 1, max);
        await refusedAs(store().create(t, { items: batch }), "items[1]", max + 1, max);
        const after = await store().get(t, s.id);
        assert.equal(after.version, appended.version, "a refused append writes nothing");
        assert.equal(after.itemCount, 2);
      }
      assert.equal((await store().list(t)).data.length, 4, "a refused create leaves no session");
    });

    it("a session state of exactly the limit is kept; one byte more is refused with its own size", async () => {
      const t = tenant();
      const limit = LIMITS.stateBytes;
      const state = (bytes: number) => sizedBody(bytes, {}, "note");
      const created = await store().create(t, { state: state(limit) });
      assert.deepEqual((await store().get(t, created.id)).state, state(limit));
      await refusedAs(store().create(t, { state: state(limit + 1) }), "state", limit + 1, limit);
      const s = await store().create(t, { state: { small: true } });
      const patched = await store().patchState(t, s.id, {
        small: null,
        note: state(limit - 10).note ?? null,
      });
      assert.deepEqual((await store().get(t, s.id)).state, state(limit - 10));
      await refusedAs(store().patchState(t, s.id, state(limit + 1)), "state", limit + 1, limit);
      assert.equal((await store().get(t, s.id)).version, patched.version);
      const child = await store().fork(t, s.id, { state: state(limit) });
      assert.deepEqual((await store().get(t, child.id)).state, state(limit));
      await refusedAs(store().fork(t, s.id, { state: state(limit + 1) }), "state", limit + 1, limit);
      assert.equal((await store().list(t)).data.length, 3, "a refused fork leaves no child");
    });

    it("an item over the limit is refused as such where the session is missing, after an earlier bad item", async () => {
      const t = tenant();
      const big = { content: text(max + 1) };
      await refusedAs(store().append(t, "conv_missing000000", [big]), "items[0]", max + 1, max);
      const s = await store().create(t);
      const untyped = { content: { role: "user" } };
      for (const id of ["conv_missing000000", s.id]) {
        await assert.rejects(store().append(t, id, [untyped, big]), { code: "invalid_argument" });
      }
    });
  });
}
