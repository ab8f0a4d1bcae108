/**
 * A failure after the stream opened is never a request field's fault (the request was checked
 * before the first event): its error event carries `param: null`, not whatever the failing layer
 * named (the store names its own list, `items[0]`, which the client never sent).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { InvalidArgumentError } from "../store/errors.ts";
import type { ErrorBody } from "./errors.ts";
import { streamSse } from "./sse-stream.ts";

test("the error event of a stream that failed after it opened names no param", async () => {
  const app = Fastify();
  const seen: ErrorBody["error"][] = [];
  app.get("/stream", async (request, reply) => {
    async function* events(): AsyncGenerator<string> {
      yield "first";
      throw new InvalidArgumentError("Item items[0] is malformed.", { param: "items[0]" });
    }
    await streamSse({
      request,
      reply,
      controller: new AbortController(),
      events: events(),
      onEvent: (event, write) => write(`data: ${event}\n\n`),
      onError: (error, write) => {
        seen.push(error);
        write(`data: ${JSON.stringify({ error })}\n\n`);
      },
    });
    return reply;
  });
  try {
    const res = await app.inject({ method: "GET", url: "/stream" });
    assert.equal(res.statusCode, 200);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.code, "invalid_argument");
    assert.equal(seen[0]?.param, null);
  } finally {
    await app.close();
  }
});
