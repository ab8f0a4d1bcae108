import assert from "node:assert/strict";
import { test } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { createMockProvider } from "../providers/mock.ts";
import { deleteResponse } from "./response-reads.ts";
import { TurnEngine } from "./turn-engine.ts";

test("previous_response_id continues in place when the items after that response were deleted", async () => {
  const store = await createStore("memory:");
  const provider = createMockProvider();
  const engine = new TurnEngine({
    store,
    invoker: {
      describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 100_000, maxOutputTokens: 100 }),
      complete: (request) => provider.complete(request),
      stream: (request) => provider.stream(request),
    },
    reserveTokens: 0,
    compaction: false,
  });
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
