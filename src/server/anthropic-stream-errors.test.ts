/**
 * `error` events inside an Anthropic stream (the HTTP answer was already 200). They carry the
 * status Anthropic would have answered with: every type but overloaded and rate-limit errors used
 * to count as a 500, so an invalid request refused in the stream was retried (three requests
 * upstream) and answered 502, where the same refusal before the stream is one request and a 400.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropicGatewayPerSuite, type FakeAnthropicAnswer } from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";

describe("error events inside an Anthropic stream", () => {
  const answers: FakeAnthropicAnswer[] = [];
  const claude = anthropicGatewayPerSuite(() => answers.shift() ?? { content: [] }, {
    retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 },
    breaker: { failureThreshold: 100 },
  });

  const streamed = (input: string) =>
    claude.t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: MODEL, input, stream: true },
    });

  test("an invalid_request_error before any content is a 400, not retried", async () => {
    const before = claude.upstream.seen.length;
    const error = { type: "invalid_request_error", message: "messages.0: bad block", afterBlocks: 0 };
    for (let i = 0; i < 3; i++) answers.push({ content: [{ type: "text", text: "x" }], streamError: error });
    const res = await streamed("hi");
    answers.length = 0;
    assert.equal(res.statusCode, 400, res.body);
    const body = res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, "upstream_invalid_request");
    assert.match(body.error.message, /claude answered 400 \(invalid_request_error\): messages\.0: bad block/);
    assert.equal(claude.upstream.seen.length - before, 1, "sent once");
  });

  // A billing failure (no credit on Holdfast's Anthropic account) is the operator's to fix: it was a
  // 500 in the stream (retried, upstream_error) and a 400 before it (blamed on the caller's request).
  const billing = { type: "billing_error", message: "Your credit balance is too low." };
  for (const where of ["in the stream", "as the HTTP answer"] as const) {
    test(`a billing_error ${where} is a 502 upstream_auth_error naming 402, not retried`, async () => {
      const before = claude.upstream.seen.length;
      for (let i = 0; i < 3; i++) {
        answers.push(
          where === "in the stream"
            ? { content: [{ type: "text", text: "x" }], streamError: { ...billing, afterBlocks: 0 } }
            : { httpError: { status: 402, ...billing } },
        );
      }
      const res = await streamed("hi");
      answers.length = 0;
      assert.equal(res.statusCode, 502, res.body);
      const body = res.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, "upstream_auth_error");
      assert.match(
        body.error.message,
        /claude answered 402 \(billing_error\): Your credit balance is too low/,
      );
      assert.equal(claude.upstream.seen.length - before, 1, "sent once");
    });
  }

  test("an overloaded_error before any content is retried, then a 502 naming 529", async () => {
    const before = claude.upstream.seen.length;
    const error = { type: "overloaded_error", message: "Overloaded", afterBlocks: 0 };
    for (let i = 0; i < 3; i++) answers.push({ content: [{ type: "text", text: "x" }], streamError: error });
    const res = await streamed("hi");
    assert.equal(res.statusCode, 502, res.body);
    assert.match(res.body, /claude answered 529 \(overloaded_error\): Overloaded/);
    assert.equal(claude.upstream.seen.length - before, 3, "first try and two retries");
  });

  test("an overloaded_error after some text ends the stream with an error; the partial is stored incomplete", async () => {
    const conv = await claude.client.conversations.create({});
    answers.push({
      content: [
        { type: "text", text: "The first part." },
        { type: "text", text: "Never sent." },
      ],
      streamError: { type: "overloaded_error", message: "Overloaded", afterBlocks: 1 },
    });
    const stream = claude.client.responses.stream({ model: MODEL, input: "tell me", conversation: conv.id });
    let id = "";
    stream.on("response.created", (event) => {
      id = event.response.id;
    });
    await assert.rejects(stream.finalResponse(), /claude answered 529 \(overloaded_error\)/);
    const stored = await claude.client.responses.retrieve(id);
    assert.equal(stored.status, "incomplete");
    assert.deepEqual(stored.incomplete_details, { reason: "interrupted" });
    assert.equal(stored.output_text, "The first part.");
  });
});
