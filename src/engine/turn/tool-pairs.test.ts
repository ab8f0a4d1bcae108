import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { JsonObject } from "../../store/types.ts";
import { getDefaultCatalog } from "../context/catalog.ts";
import { ProviderError } from "../providers/errors.ts";
import { createMockProvider } from "../providers/mock.ts";
import { unmatchedOutputs } from "./tool-pairs.ts";
import { TurnEngine } from "./turn-engine.ts";
import type { ModelInvoker } from "./turn-types.ts";

const call = (id: string) => ({
  content: { type: "function_call", call_id: id, name: "f", arguments: "{}" },
});
const output = (id: string) => ({ content: { type: "function_call_output", call_id: id, output: "ok" } });

describe("tool pairs in turn input", () => {
  it("pairs the input's own calls and outputs, and returns the outputs that need a stored call", () => {
    assert.deepEqual(unmatchedOutputs([call("a"), output("a"), output("b")]), [{ index: 2, callId: "b" }]);
    assert.throws(() => unmatchedOutputs([output("a"), call("a")]), { param: "input[1].call_id" });
    assert.throws(() => unmatchedOutputs([call("a"), output("a"), output("a")]), {
      param: "input[2].call_id",
    });
    assert.throws(() => unmatchedOutputs([call("a"), call("a"), output("a")]), { param: "input[1].call_id" });
  });

  it("a retried tool-output turn (same idempotency key) still runs after its input was written", async () => {
    const store = await createStore("memory:");
    const provider = createMockProvider();
    let fail = false;
    const invoker: ModelInvoker = {
      describe: () => ({ ...getDefaultCatalog().get("mock"), contextWindow: 100_000, maxOutputTokens: 100 }),
      complete: async (request) => {
        if (fail) {
          fail = false;
          throw new ProviderError("upstream down", { provider: "mock" });
        }
        return provider.complete(request);
      },
      stream: (request) => provider.stream(request),
    };
    const engine = new TurnEngine({ store, invoker, compaction: false });
    const conv = await store.create("t");
    const tools = [{ type: "function", name: "lookup", parameters: { type: "object", properties: {} } }];
    const first = await engine.respond("t", {
      model: "mock",
      input: "call lookup",
      tools,
      conversation: conv.id,
    });
    const callId = (first.output as JsonObject[])[0]?.call_id as string;
    const body = { model: "mock", tools, conversation: conv.id, input: [output(callId).content] };
    fail = true;
    await assert.rejects(engine.respond("t", body, { idempotencyKey: "k" }), { code: "upstream_error" });
    // The failed attempt stored the output (write-ahead); the retry replays that append and runs.
    const retried = await engine.respond("t", body, { idempotencyKey: "k" });
    assert.equal(retried.status, "completed");
    // Without the key, answering the same call again is refused.
    await assert.rejects(engine.respond("t", body), { code: "invalid_argument", param: "input[0].call_id" });
    await store.close();
  });
});
