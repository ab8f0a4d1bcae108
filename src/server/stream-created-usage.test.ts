/**
 * A Responses stream announces its response (`response.created`, `response.in_progress`) with
 * `usage: null`, as OpenAI's does: nothing is counted until `response.completed`, whose usage is
 * the turn's. A zero-filled usage would read as a turn that cost nothing. The same holds for a
 * stream replayed by `Idempotency-Key`, whose stored response already has its usage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { openSdkGateway } from "./sdk-test-gateway.ts";

describe("the usage a Responses stream announces", () => {
  test("response.created and response.in_progress carry usage null; response.completed the turn's", async () => {
    const { client, close } = await openSdkGateway(await createStore("memory:"));
    try {
      const conv = await client.conversations.create({});
      const cases = [
        { conversation: undefined, key: undefined },
        { conversation: conv.id, key: "usage-replay" },
        // The same key again: the stored response streamed as a replay.
        { conversation: conv.id, key: "usage-replay" },
      ];
      for (const { conversation, key } of cases) {
        const headers = key === undefined ? {} : { "Idempotency-Key": key };
        const stream = await client.responses.create(
          { model: "mock", input: "hello there", stream: true, ...(conversation ? { conversation } : {}) },
          { headers },
        );
        const seen = new Map<string, unknown>();
        for await (const event of stream) {
          if (event.type === "response.created" || event.type === "response.in_progress") {
            assert.equal(event.response.status, "in_progress");
            seen.set(event.type, event.response.usage);
          }
          if (event.type === "response.completed") seen.set(event.type, event.response.usage);
        }
        assert.equal(seen.get("response.created"), null, `${key}: created`);
        assert.equal(seen.get("response.in_progress"), null, `${key}: in_progress`);
        const usage = seen.get("response.completed") as { total_tokens: number } | undefined;
        assert.ok(usage && usage.total_tokens > 0, `${key}: completed carries the turn's usage`);
      }
    } finally {
      await close();
    }
  });
});
