/** Every HTTP adapter against the mock upstream over real HTTP: plain, streamed, tool round trip, usage. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createMockUpstream, type MockUpstream } from "../../mock-upstream/index.ts";
import type { ProviderLayer } from "./create-providers.ts";
import { collect, layerOf, outputText, WEATHER_TOOL } from "./test-support.ts";
import type { FunctionCallItem, InputItem } from "./types.ts";

const TYPES = ["openai-chat", "openai-responses", "anthropic"] as const;

let mock: MockUpstream;
let layer: ProviderLayer;

before(async () => {
  mock = await createMockUpstream();
  layer = layerOf({
    providers: TYPES.map((type) => ({
      name: type,
      type,
      baseUrl: type === "anthropic" ? mock.url : `${mock.url}/v1`,
    })),
  });
});

after(async () => {
  await layer.close();
  await mock.close();
});

const user = (text: string): InputItem => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});

for (const type of TYPES) {
  describe(`${type} adapter`, () => {
    test("non-streamed turn: text and usage", async () => {
      const provider = layer.providers.get(type)!;
      const result = await provider.complete({
        model: "mock",
        input: [user("hello brave new world")],
        instructions: "Be brief.",
      });
      assert.equal(result.status, "completed");
      assert.equal(result.finish_reason, "stop");
      assert.equal(outputText(result.output), 'You said: "hello brave new world" (4 words).');
      assert.equal(result.usage.output_tokens, 8); // one per word
      assert.ok(result.usage.input_tokens > 0);
      assert.equal(result.output[0]?.type, "message");
    });

    test("streamed turn: deltas add up to the final item, usage reported", async () => {
      const provider = layer.providers.get(type)!;
      const run = await collect(provider.stream({ model: "mock", input: [user("stream me please")] }));
      assert.equal(run.error, undefined);
      assert.ok(run.result);
      assert.equal(run.text, 'You said: "stream me please" (3 words).');
      assert.equal(outputText(run.result.output), run.text);
      assert.ok(run.events.filter((event) => event.type === "text_delta").length > 1);
      // Anthropic's input counts (message_start) come with the first output event.
      const first = type === "anthropic" ? ["usage"] : [];
      assert.deepEqual(
        run.events.map((event) => event.type).filter((t) => t !== "text_delta"),
        [...first, "item_added", "item_done", "usage", "done"],
      );
      assert.equal(run.result.usage.output_tokens, 7);
    });

    test("max_output_tokens cuts the answer: incomplete", async () => {
      const provider = layer.providers.get(type)!;
      const result = await provider.complete({
        model: "mock",
        input: [user("one two three four five")],
        max_output_tokens: 2,
      });
      assert.equal(result.status, "incomplete");
      assert.equal(result.finish_reason, "length");
      assert.equal(result.incomplete_reason, "max_output_tokens");
      assert.equal(outputText(result.output), "You said: ");
    });

    for (const stream of [false, true]) {
      test(`function call round trip (${stream ? "streamed" : "non-streamed"})`, async () => {
        const provider = layer.providers.get(type)!;
        const input: InputItem[] = [user('please call get_weather {"city":"Paris"}')];
        const first = stream
          ? (await collect(provider.stream({ model: "mock", input, tools: [WEATHER_TOOL] }))).result!
          : await provider.complete({ model: "mock", input, tools: [WEATHER_TOOL] });
        assert.equal(first.finish_reason, "tool_calls");
        const call = first.output.find((item) => item.type === "function_call") as FunctionCallItem;
        assert.equal(call.name, "get_weather");
        assert.deepEqual(JSON.parse(call.arguments), { city: "Paris" });
        assert.match(call.call_id, /^call_/);
        const second = await provider.complete({
          model: "mock",
          input: [
            ...input,
            call,
            { type: "function_call_output", call_id: call.call_id, output: "sunny, 21 C" },
          ],
          tools: [WEATHER_TOOL],
        });
        assert.equal(second.finish_reason, "stop");
        assert.equal(outputText(second.output), "The tool get_weather returned: sunny, 21 C");
      });
    }

    test("a context-length error is typed", async () => {
      const context = layerOf({
        providers: [
          {
            name: "ctx",
            type,
            baseUrl: type === "anthropic" ? mock.url : `${mock.url}/v1`,
            headers: { "x-mock-scenario": "context" },
          },
        ],
      });
      try {
        await assert.rejects(
          context.providers.get("ctx")!.complete({ model: "mock", input: [user("x")] }),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, "context_length_exceeded");
            assert.match(error.message, /answered 400/);
            return true;
          },
        );
      } finally {
        await context.close();
      }
    });
  });
}

test("the mock provider is in-process and deterministic", async () => {
  const provider = layer.providers.get("mock")!;
  const a = await provider.complete({ model: "anything", input: [user("same input")] });
  const b = await collect(provider.stream({ model: "anything", input: [user("same input")] }));
  assert.equal(outputText(a.output), 'You said: "same input" (2 words).');
  assert.equal(b.text, outputText(a.output));
  assert.deepEqual(a.usage, b.result?.usage);
});

test("keep-alive: sequential plain and streamed turns (paced, so the body end arrives late) reuse one socket", async () => {
  const paced = await createMockUpstream({ tokensPerS: 2000 });
  const pacedLayer = layerOf({
    providers: TYPES.map((type) => ({
      name: type,
      type,
      baseUrl: type === "anthropic" ? paced.url : `${paced.url}/v1`,
    })),
  });
  try {
    for (const type of TYPES) {
      const provider = pacedLayer.providers.get(type)!;
      for (let i = 0; i < 3; i++) {
        const run = await collect(provider.stream({ model: "mock", input: [user(`turn ${i}`)] }));
        assert.ok(run.result);
        await provider.complete({ model: "mock", input: [user(`plain ${i}`)] });
      }
    }
    // One pool for the origin, shared by the three providers. undici frees a socket a tick after
    // the body ends, so a second one may open once; without reuse there would be 18.
    assert.deepEqual(Object.keys(pacedLayer.poolStats()), [paced.url]);
    assert.ok(paced.stats().connections <= 2, `connections: ${paced.stats().connections}`);
    assert.equal(paced.stats().aborted, 0);
  } finally {
    await pacedLayer.close();
    await paced.close();
  }
});
