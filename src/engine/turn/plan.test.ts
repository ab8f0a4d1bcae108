import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import { deleteResponse } from "./response-reads.ts";
import { TurnEngine } from "./turn-engine.ts";

function engineOver(store: Awaited<ReturnType<typeof createStore>>): TurnEngine {
  const provider = createMockProvider();
  return new TurnEngine({
    store,
    invoker: {
      describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 100_000, maxOutputTokens: 100 }),
      complete: (request) => provider.complete(request),
      stream: (request) => provider.stream(request),
    },
    reserveTokens: 0,
    compaction: false,
  });
}

test("keyed turn ids: unchanged without an owner, per owner with one; the turn's session is the owner's", async () => {
  const store = await createStore("memory:");
  const engine = engineOver(store);
  const body = { model: "mock", input: "same" };
  // Without an owner (API keys) the ids are derived exactly as before owners counted: a retry
  // that spans an upgrade still replays.
  const hash = createHash("sha256").update("t\u0000k-1").digest("hex");
  const keyed = await engine.respond("t", body, { idempotencyKey: "k-1" });
  assert.equal(keyed.id, `resp_${hash.slice(0, 16)}${hash.slice(0, 32)}`);
  assert.equal((await store.get("t", `conv_${hash.slice(0, 32)}`)).owner, null);
  const ann = await engine.respond("t", body, { idempotencyKey: "k-1", owner: "ann" });
  const ben = await engine.respond("t", body, { idempotencyKey: "k-1", owner: "ben" });
  assert.equal(new Set([keyed.id, ann.id, ben.id]).size, 3);
  assert.equal((await engine.respond("t", body, { idempotencyKey: "k-1", owner: "ann" })).id, ann.id);
  for (const [response, owner] of [
    [ann, "ann"],
    [ben, "ben"],
  ] as const) {
    assert.equal((await store.get("t", `conv_${String(response.id).slice(21)}`)).owner, owner);
  }
  await store.close();
});

test("previous_response_id continues in place when the items after that response were deleted", async () => {
  const store = await createStore("memory:");
  const engine = engineOver(store);
  const first = await engine.respond("t", { model: "mock", input: "first" });
  const sessionId = `conv_${String(first.id).slice(21)}`;
  const second = await engine.respond("t", {
    model: "mock",
    input: "second",
    previous_response_id: first.id,
  });
  // Take the second turn back: its response and its items.
  await deleteResponse(store, "t", String(second.id));
  const items = await store.readItems("t", sessionId, { limit: 100 });
  const firstRecord = items.find((item) => item.id === first.id)!;
  for (const item of items.filter((i) => i.seq > firstRecord.seq))
    await store.deleteItem("t", sessionId, item.id);
  const again = await engine.respond("t", { model: "mock", input: "again", previous_response_id: first.id });
  assert.equal(`conv_${String(again.id).slice(21)}`, sessionId, "no fork: the response is the newest item");
  const head = await store.get("t", sessionId);
  assert.ok(head.lastSeq > head.itemCount);
  await store.close();
});
