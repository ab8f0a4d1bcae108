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

test("the first token goes out at once; the events after it in the same macrotask share one write", async () => {
  const app = Fastify();
  const writes: string[] = [];
  let sentBeforeLast: string | null = null;
  app.get("/stream", async (request, reply) => {
    const raw = reply.raw;
    const write = raw.write.bind(raw) as (chunk: unknown, ...rest: unknown[]) => boolean;
    raw.write = ((chunk: unknown, ...rest: unknown[]) => {
      writes.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof raw.write;
    async function* events(): AsyncGenerator<string> {
      yield "created";
      yield "token 1";
      yield "token 2";
      // Still the macrotask of the events above, as a turn's commit follows its upstream's last read.
      sentBeforeLast = writes.join("");
      yield "completed";
    }
    await streamSse({
      request,
      reply,
      controller: new AbortController(),
      events: events(),
      onEvent: (event, write) => write(`data: ${event}\n\n`),
      firstToken: (event) => event.startsWith("token"),
      onError: () => {},
    });
    return reply;
  });
  try {
    const res = await app.inject({ method: "GET", url: "/stream" });
    assert.equal(res.statusCode, 200);
    assert.equal(sentBeforeLast, "data: created\n\ndata: token 1\n\n");
    assert.deepEqual(writes, ["data: created\n\ndata: token 1\n\n", "data: token 2\n\ndata: completed\n\n"]);
    assert.equal(res.body, writes.join(""));
  } finally {
    await app.close();
  }
});
