/** Routing: fallback along a route, streams falling back only before their first event, abort, refit, weights. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, afterEach, before, test } from "node:test";
import { createMockUpstream, type MockUpstream } from "../../mock-upstream/index.ts";
import type { ProviderLayer } from "./create-providers.ts";
import type { ProviderError } from "./errors.ts";
import { collect, layerOf, outputText } from "./test-support.ts";
import type { InputItem } from "./types.ts";

const input: InputItem[] = [{ type: "message", role: "user", content: "route me" }];
const EXPECTED = 'You said: "route me" (2 words).';

let primary: MockUpstream;
let secondary: MockUpstream;
let layer: ProviderLayer | undefined;

before(async () => {
  secondary = await createMockUpstream();
});
after(async () => {
  await secondary.close();
});
afterEach(async () => {
  await layer?.close();
  layer = undefined;
  await primary?.close();
});

async function setup(
  script: string[],
  options: { maxRetries?: number; primaryType?: string; tokensPerS?: number } = {},
): Promise<ProviderLayer> {
  primary = await createMockUpstream({
    script,
    retryAfterMs: 0,
    ...(options.tokensPerS ? { tokensPerS: options.tokensPerS } : {}),
  });
  const type = options.primaryType ?? "openai-chat";
  layer = layerOf({
    retry: { maxRetries: options.maxRetries ?? 0, baseDelayMs: 1 },
    providers: [
      { name: "primary", type, baseUrl: type === "anthropic" ? primary.url : `${primary.url}/v1` },
      { name: "secondary", type: "anthropic", baseUrl: secondary.url },
    ],
    routes: {
      smart: [
        { provider: "primary", model: "big" },
        { provider: "secondary", model: "small" },
      ],
    },
  });
  return layer;
}

test("primary answers 500 → the secondary serves; attempts say so", async () => {
  const { router } = await setup(["error:500"]);
  const { result, target, attempts } = await router.complete({ model: "smart", input });
  assert.equal(outputText(result.output), EXPECTED);
  assert.deepEqual(target, { provider: "secondary", model: "small" });
  assert.deepEqual(attempts, [
    { provider: "primary", model: "big", error: "upstream_error", retries: 0 },
    { provider: "secondary", model: "small", retries: 0 },
  ]);
});

test("retries on the primary come before falling back", async () => {
  const { router } = await setup(["error:503", "ok"], { maxRetries: 1 });
  const { target, attempts } = await router.complete({ model: "smart", input });
  assert.equal(target.provider, "primary");
  assert.equal(attempts[0]?.retries, 1);
});

test("refit is called with the fallback model before the fallback is tried", async () => {
  const { router } = await setup(["error:502"]);
  const seen: string[] = [];
  const { result } = await router.complete(
    { model: "smart", input },
    {
      refit: (items, model) => {
        seen.push(model);
        return [...items.slice(0, -1), { type: "message", role: "user", content: "fitted" }];
      },
    },
  );
  assert.deepEqual(seen, ["small"]);
  assert.equal(outputText(result.output), 'You said: "fitted" (1 words).');
});

test("a refit keeps input_origin with the items it kept: the fallback refuses the request's own part at its index", async () => {
  const { router } = await setup(["error:502"]);
  const image = { type: "input_image", file_id: "file-abc123" } as never;
  const request = {
    model: "smart",
    input: [
      { type: "message", role: "user", content: "old history" },
      { type: "message", role: "user", content: [image] },
    ] as InputItem[],
    // The second item is the client's input[1]; the first is history.
    input_origin: [null, 1],
  };
  await assert.rejects(
    router.complete(request, { refit: (items) => items.slice(1) }),
    (error: ProviderError) => error.code === "unsupported_content" && error.param === "input[1].content[0]",
  );
});

test("a context-length error does not fall back (the context engine compacts instead)", async () => {
  const { router } = await setup(["context"]);
  const before = secondary.stats().requests;
  await assert.rejects(
    router.complete({ model: "smart", input }),
    (error: ProviderError) => error.code === "context_length_exceeded",
  );
  assert.equal(secondary.stats().requests, before);
});

test("stream cut before the first event → falls back to the secondary", async () => {
  const { router } = await setup(["cut:1"]);
  const stream = await router.openStream({ model: "smart", input });
  assert.equal(stream.target.provider, "secondary");
  const run = await collect(stream.events);
  assert.equal(run.text, EXPECTED);
  assert.equal(run.error, undefined);
});

test("stream cut after events were yielded → terminal error event with the partial output", async () => {
  const { router } = await setup(["cut:4"]);
  const stream = await router.openStream({ model: "smart", input });
  assert.equal(stream.target.provider, "primary");
  const run = await collect(stream.events);
  assert.equal(run.result, undefined);
  assert.ok(run.error);
  assert.equal(run.error.error.code, "upstream_error");
  assert.equal(run.error.partial.status, "incomplete");
  assert.equal(run.error.partial.incomplete_reason, "interrupted");
  assert.equal(outputText(run.error.partial.output), run.text);
  assert.ok(run.text.length > 0);
  assert.equal(run.events.at(-1)?.type, "error");
});

test("abort cancels the upstream request at once: the mock sees the socket close", async () => {
  const { router } = await setup([], { tokensPerS: 20 });
  const controller = new AbortController();
  const stream = await router.openStream({ model: "smart", input, signal: controller.signal });
  assert.equal(stream.target.provider, "primary");
  const aborted = once(primary.events, "aborted");
  const seen: string[] = [];
  for await (const event of stream.events) {
    seen.push(event.type);
    if (seen.length === 2) controller.abort();
    if (event.type === "error") assert.equal(event.error.code, "cancelled");
  }
  await aborted;
  assert.equal(seen.at(-1), "error");
  assert.ok(!seen.includes("done"));
  assert.equal(primary.stats().aborted, 1);
});

test("a consumer that stops reading early releases the upstream too", async () => {
  const { router } = await setup([], { tokensPerS: 20 });
  const stream = await router.openStream({ model: "smart", input });
  const aborted = once(primary.events, "aborted");
  for await (const _event of stream.events) break;
  await aborted;
  assert.equal(primary.stats().aborted, 1);
});

test("an open breaker skips the primary without calling it", async () => {
  const { router } = await setup(["error:500", "error:500", "error:500", "error:500", "error:500"]);
  const transitions: string[] = [];
  router.on("breaker", (t) => transitions.push(`${t.name}:${t.to}`));
  for (let i = 0; i < 5; i++) await router.complete({ model: "smart", input });
  assert.equal(router.breaker("primary")?.state, "open");
  assert.deepEqual(transitions, ["primary:open"]);
  const before = primary.stats().requests;
  const { target, attempts } = await router.complete({ model: "smart", input });
  assert.equal(target.provider, "secondary");
  assert.equal(attempts[0]?.error, "circuit_open");
  assert.equal(primary.stats().requests, before);
  assert.deepEqual(router.breakerStates(), { primary: "open", secondary: "closed", mock: "closed" });
});

test("weighted targets are load-balanced; unweighted ones keep their order", () => {
  let next = 0;
  const values = [0.1, 0.9];
  const plain = layerOf({
    routes: {
      lb: [
        { provider: "mock", model: "a", weight: 3 },
        { provider: "mock", model: "b", weight: 1 },
        { provider: "mock", model: "c" },
      ],
    },
  });
  // layerOf's random is fixed at 0.5: 0.5 * 4 = 2 → falls in a's share.
  assert.deepEqual(
    plain.router.plan("lb").map((t) => t.model),
    ["a", "b", "c"],
  );
  const router = new (plain.router.constructor as typeof import("./router.ts").Router)({
    providers: plain.providers,
    resolve: () => [
      { provider: "mock", model: "a", weight: 3 },
      { provider: "mock", model: "b", weight: 1 },
    ],
    random: () => values[next++ % 2]!,
  });
  assert.deepEqual(
    router.plan("x").map((t) => t.model),
    ["a", "b"],
  );
  assert.deepEqual(
    router.plan("x").map((t) => t.model),
    ["a", "b"],
  );
  next = 1;
  assert.deepEqual(
    router.plan("x").map((t) => t.model),
    ["b", "a"],
  );
});

test("with nothing configured the mock provider serves any model", async () => {
  const zero = layerOf(undefined);
  const { result, target } = await zero.router.complete({ model: "gpt-whatever", input });
  assert.equal(target.provider, "mock");
  assert.equal(outputText(result.output), EXPECTED);
  const stream = await zero.router.openStream({ model: "mock", input });
  assert.equal((await collect(stream.events)).text, EXPECTED);
});

test("cancel() on a stream nobody read releases the upstream and the breaker slot", async () => {
  const { router } = await setup([], { tokensPerS: 20 });
  const stream = await router.openStream({ model: "smart", input });
  const aborted = once(primary.events, "aborted");
  await stream.cancel();
  await aborted;
  const seen = [];
  for await (const event of stream.events) seen.push(event);
  assert.deepEqual(seen, []);
  assert.equal(router.breaker("primary")?.state, "closed");
});

test("abort of a non-streamed turn cancels the upstream request", async () => {
  const { router } = await setup([], { tokensPerS: 5 });
  const controller = new AbortController();
  const request = once(primary.events, "request");
  const pending = router.complete({ model: "smart", input, signal: controller.signal });
  const aborted = once(primary.events, "aborted");
  await request;
  controller.abort();
  await assert.rejects(pending, (error: ProviderError) => error.code === "cancelled");
  await aborted;
  assert.equal(primary.stats().aborted, 1);
  assert.equal(secondary.stats().aborted, 0);
});
