import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import Fastify from "fastify";
import { createGateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createServer } from "../server/create-server.ts";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import { HoldfastError } from "../store/errors.ts";
import { summarizeError } from "./error-summary.ts";
import { currentRequestId, loggingOptions, registerRequestLogging, requestIdFrom } from "./logging.ts";
import { scrub, splitRedactPaths } from "./redaction.ts";

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

  test("credentials echoed in errors (messages, causes, properties) and in log messages never reach a line", async () => {
    const apiKey = `hf_${"A1b2C3d4".repeat(5)}xyz`;
    const upstreamKey = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3";
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const refresh = "hfr_fam0123456789.SeCrEtRefreshPart_0123456789";
    const dbPassword = "pg-Pa55word-9876";
    const out = capture();
    const app = Fastify({ ...loggingOptions({ stream: out.stream }) });
    app.setErrorHandler(handleError);
    registerRequestLogging(app);
    app.get("/boom", async (request) => {
      request.log.warn(`retrying with Authorization: Bearer ${jwt} and ${refresh}`);
      const cause = new Error(`connect ECONNREFUSED postgres://holdfast:${dbPassword}@db:5432/hf`);
      const error = new Error(
        `openai answered 401 (invalid_api_key): Incorrect API key provided: ${upstreamKey}; request had Bearer ${apiKey}`,
        { cause },
      );
      (error as Error & { url?: string }).url = `https://up.example/v1?api_key=${upstreamKey}&x=1`;
      throw error;
    });
    const res = await app.inject({ url: "/boom" });
    assert.equal(res.statusCode, 500);
    await app.close();
    const raw = out.raw();
    const failed = out.lines().find((l) => l.msg === "request failed" && l.err !== undefined);
    const err = failed?.err as { type?: string; message_length?: number; cause?: { type?: string } };
    assert.equal(err?.type, "Error", "the error is still logged");
    assert.ok((err?.message_length ?? 0) > 0 && err?.cause?.type === "Error", raw);
    for (const secret of [apiKey, upstreamKey, jwt, refresh, dbPassword, "Zz9Yy8Xx7Ww6"]) {
      assert.ok(!raw.includes(secret), `leaked ${secret}: ${raw}`);
    }
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

  test("a failed turn and failed store calls leave no trace of the conversation in the log", async () => {
    const sentence = "the vault combination is 31-41-59 and nobody else knows it";
    // The upstream answers 500 with a body that echoes the request, as many do.
    const upstream = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += String(chunk);
      });
      req.on("end", () => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { type: "server_error", message: `could not process ${body}` } }));
      });
    });
    upstream.listen(0, "127.0.0.1");
    await once(upstream, "listening");
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const store = await createStore("memory:");
    // A driver error quoting the value it rejected, wrapped as the store wraps it; and a raw one.
    const failing = new Proxy(store, {
      get(target, key) {
        if (key === "update") {
          return async () => {
            const cause = Object.assign(new Error(`invalid input syntax for type json: "${sentence}"`), {
              code: "22P02",
            });
            throw new HoldfastError("internal", `Postgres error: ${cause.message}`, { cause });
          };
        }
        if (key === "patchState") {
          return async () => {
            throw new SyntaxError(`Unexpected token in JSON at position 3: "${sentence}"`);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const gateway = createGateway({
      store,
      providers: createProviderLayer(
        parseProvidersConfig(
          {
            retry: { maxRetries: 0 },
            providers: [{ name: "up", type: "openai-chat", baseUrl: `${upstreamUrl}/v1` }],
            routes: { echo: [{ provider: "up", model: "echo" }] },
          },
          {},
        ),
      ),
    });
    const out = capture();
    const app = await createServer({
      store: failing,
      logging: loggingOptions({ stream: out.stream }),
      gateway: { engine: gateway.engine, models: gateway.models },
    });
    registerRequestLogging(app);
    try {
      const turn = await app.inject({
        method: "POST",
        url: "/v1/responses",
        payload: { model: "echo", input: sentence },
      });
      assert.equal(turn.statusCode, 502, turn.body);
      const chat = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: "echo", messages: [{ role: "user", content: sentence }] },
      });
      assert.equal(chat.statusCode, 502, chat.body);
      const conversation = await store.create("default", {});
      const update = await app.inject({
        method: "POST",
        url: `/v1/conversations/${conversation.id}`,
        payload: { metadata: { topic: "x" } },
      });
      assert.equal(update.statusCode, 500, update.body);
      const patch = await app.inject({
        method: "PATCH",
        url: `/v1/conversations/${conversation.id}/state`,
        headers: { "content-type": "application/merge-patch+json" },
        payload: JSON.stringify({ note: sentence }),
      });
      assert.equal(patch.statusCode, 500, patch.body);
    } finally {
      await app.close();
      await gateway.close();
      await store.close();
      upstream.close();
    }
    const raw = out.raw();
    for (const fragment of [sentence, "vault combination", "31-41-59", "nobody else knows"]) {
      assert.ok(!raw.includes(fragment), `the log quotes "${fragment}": ${raw}`);
    }
    // What is logged instead: enough to tell the failures apart.
    const errors = out
      .lines()
      .filter((l) => l.err !== undefined)
      .map((l) => l.err as Record<string, unknown>);
    assert.deepEqual(
      errors.map((e) => [e.type, e.code]),
      [
        ["ProviderError", "upstream_error"],
        ["ProviderError", "upstream_error"],
        ["HoldfastError", "internal"],
        ["SyntaxError", undefined],
      ],
      raw,
    );
    assert.equal(errors[0]?.provider, "up");
    assert.equal(errors[0]?.status, 500);
    assert.ok(typeof errors[0]?.message_length === "number" && (errors[0].message_length as number) > 0);
    assert.deepEqual((errors[2]?.cause as Record<string, unknown>)?.code, "22P02");
    assert.ok(Array.isArray(errors[3]?.stack) && (errors[3].stack as string[]).length > 0, raw);
  });
});

describe("error summary", () => {
  test("never the message, not even lines of it shaped like stack frames; idempotent", () => {
    const error = new TypeError("first line\n    at secretFunction (the vault combination is 31-41-59)");
    const summary = summarizeError(error);
    assert.equal(summary.type, "TypeError");
    assert.equal(summary.message_length, error.message.length);
    assert.ok(summary.stack && summary.stack.length > 0);
    assert.ok(!JSON.stringify(summary).includes("31-41-59"), JSON.stringify(summary));
    assert.equal(summarizeError(summary), summary);
    // Thrown strings, odd codes and params: lengths only, identifiers only.
    assert.deepEqual(summarizeError("31-41-59"), { type: "string", message_length: 8 });
    const odd = Object.assign(new Error("x"), { code: "the vault 31-41-59", param: "a b" });
    assert.equal(summarizeError(odd).code, undefined);
    assert.equal(summarizeError(odd).param, undefined);
  });
});

describe("redaction", () => {
  test("wildcard keys are scrubbed at any depth without mutating the logged object", async () => {
    const out = capture();
    const app = Fastify({ ...loggingOptions({ stream: out.stream, extraRedactPaths: ["*.ssn"] }) });
    const logged = {
      turn: { steps: [{ call: { arguments: '{"card":"4111"}', result: { output: CONTENT } } }] },
      user: { profile: { ssn: "078-05-1120" } },
      route: "/v1/responses",
    };
    const before = JSON.stringify(logged);
    app.log.info(logged, "deep");
    await app.close();
    assert.equal(JSON.stringify(logged), before, "input not mutated");
    const raw = out.raw();
    assert.ok(raw.includes('"route":"/v1/responses"'), raw);
    assert.ok(!raw.includes("4111") && !raw.includes("hunter2") && !raw.includes("078-05-1120"), raw);
  });

  test("paths split into exact pino paths and scrubbed key names", () => {
    const { exactPaths, keys } = splitRedactPaths([
      "req.headers.authorization",
      "*.apiKey",
      'headers["x-api-key"]',
      "items[*].content",
    ]);
    assert.deepEqual(exactPaths, ["req.headers.authorization", 'headers["x-api-key"]']);
    assert.deepEqual([...keys].sort(), ["apikey", "content"]);
    const value = { a: 1, nested: { list: [{ ApiKey: "k" }] } };
    assert.deepEqual(scrub(value, keys), { a: 1, nested: { list: [{ ApiKey: "[redacted]" }] } });
    const clean = { a: { b: [1, 2] } };
    assert.equal(scrub(clean, keys), clean, "nothing to redact: the same object, no copy");
  });
});
