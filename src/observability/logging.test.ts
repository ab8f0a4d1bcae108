import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import Fastify from "fastify";
import { currentRequestId, loggingOptions, registerRequestLogging, requestIdFrom } from "./logging.ts";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const raw = (): string => chunks.join("");
  const lines = (): Record<string, unknown>[] =>
    raw()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines, raw };
}

const SECRET = "sk-live-9f8e7d6c5b4a";
const CONTENT = "my bank password is hunter2";

describe("logging", () => {
  test("secrets and message content never reach the log output", async () => {
    const out = capture();
    const app = Fastify({ ...loggingOptions({ stream: out.stream }) });
    registerRequestLogging(app);
    app.post("/v1/responses", async (request) => {
      // What careless code would log: the request headers and body.
      request.log.info({ headers: request.headers, body: request.body }, "incoming");
      request.log.warn({ item: { type: "message", content: CONTENT }, apiKey: SECRET }, "item");
      return { ok: true };
    });
    const res = await app.inject({
      method: "POST",
      url: "/v1/responses",
      headers: { authorization: `Bearer ${SECRET}`, "x-api-key": SECRET, cookie: `hf_session=${SECRET}` },
      payload: { input: CONTENT, messages: [{ role: "user", content: CONTENT }], instructions: CONTENT },
    });
    assert.equal(res.statusCode, 200);
    await app.close();
    const raw = out.raw();
    assert.ok(raw.includes("incoming") && raw.includes("[redacted]"), raw);
    assert.ok(!raw.includes(SECRET), "secret leaked");
    assert.ok(!raw.includes("hunter2"), "content leaked");
  });

  test("request id from x-request-id on every line, echoed, and readable in the async flow", async () => {
    const out = capture();
    const app = Fastify({ ...loggingOptions({ stream: out.stream }) });
    registerRequestLogging(app);
    let seen: string | undefined;
    app.get("/x", async (request) => {
      await new Promise((r) => setTimeout(r, 1));
      seen = currentRequestId();
      request.log.info("inside");
      return {};
    });
    const res = await app.inject({ url: "/x", headers: { "x-request-id": "abc-123" } });
    assert.equal(res.headers["x-request-id"], "abc-123");
    assert.equal(seen, "abc-123");
    const lines = out.lines();
    assert.ok(lines.length >= 2);
    for (const line of lines) assert.equal(line.request_id, "abc-123");
    const done = lines.find((l) => l.msg === "request completed");
    assert.equal(done?.route, "/x");
    assert.equal(done?.status, 200);
    assert.equal(currentRequestId(), undefined);

    const generated = await app.inject({ url: "/nope", headers: { "x-request-id": "bad id\nwith newline" } });
    assert.equal(generated.statusCode, 404);
    assert.match(String(generated.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
    await app.close();
  });

  test("request ids: plain short ids pass, anything else is replaced", () => {
    assert.equal(requestIdFrom("req_1.2:3"), "req_1.2:3");
    assert.notEqual(requestIdFrom("x".repeat(129)), "x".repeat(129));
    assert.match(requestIdFrom(undefined), /^[0-9a-f-]{36}$/);
  });

  test("redaction paths are configurable", async () => {
    const out = capture();
    const app = Fastify({ ...loggingOptions({ stream: out.stream, extraRedactPaths: ["customerEmail"] }) });
    app.get("/y", async (request) => {
      request.log.info({ customerEmail: "a@b.example" }, "custom");
      return {};
    });
    await app.inject({ url: "/y" });
    await app.close();
    assert.ok(!out.raw().includes("a@b.example"));
    assert.throws(() => loggingOptions({ redactPaths: [""] }), /redactPaths/);
  });
});
