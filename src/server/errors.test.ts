import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { RateLimitError } from "../security/errors.ts";
import {
  ConflictError,
  HoldfastError,
  InvalidArgumentError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
} from "../store/errors.ts";
import type { SessionStore } from "../store/types.ts";
import { toErrorResponse } from "./errors.ts";
import { openTestApp } from "./test-helpers.ts";

describe("errors → responses", () => {
  test("HoldfastError codes map to statuses with OpenAI's body shape", () => {
    const cases: [HoldfastError, number, string][] = [
      [new NotFoundError("gone", { param: "session_id" }), 404, "invalid_request_error"],
      [new ConflictError("moved"), 409, "invalid_request_error"],
      [new ConflictError("busy", { code: "conversation_busy_conflict" }), 409, "invalid_request_error"],
      [new InvalidArgumentError("bad", { param: "limit" }), 400, "invalid_request_error"],
      [new PayloadTooLargeError("big"), 413, "invalid_request_error"],
      [new UnavailableError("down", { retryAfterSeconds: 7 }), 503, "server_error"],
      [new HoldfastError("some_new_caller_code", "x"), 400, "invalid_request_error"],
    ];
    for (const [error, status, type] of cases) {
      const res = toErrorResponse(error);
      assert.equal(res.status, status, error.code);
      assert.deepEqual(res.body, {
        error: { type, code: error.code, message: error.message, param: error.param },
      });
    }
    assert.equal(
      toErrorResponse(new UnavailableError("down", { retryAfterSeconds: 7 })).headers["retry-after"],
      "7",
    );
  });

  test("429s name the limit hit in `type` as OpenAI does, keeping code rate_limit_exceeded", () => {
    for (const [limit, type] of [
      ["key:requests", "requests"],
      ["owner:requests", "requests"],
      ["key:tokens", "tokens"],
      ["owner:tokens", "tokens"],
      ["tenant:spend", "spend"],
    ]) {
      const res = toErrorResponse(new RateLimitError("slow down", limit!, 2));
      assert.equal(res.status, 429);
      assert.deepEqual(res.body.error, {
        type,
        code: "rate_limit_exceeded",
        message: "slow down",
        param: null,
      });
      assert.equal(res.headers["retry-after"], "2");
    }
  });

  test("unexpected errors are 500 server_error without leaking their message", () => {
    for (const error of [new TypeError("secret internals at /srv/x.ts"), new SyntaxError("secret JSON")]) {
      const res = toErrorResponse(error);
      assert.equal(res.status, 500);
      assert.equal(res.body.error.type, "server_error");
      assert.doesNotMatch(res.body.error.message, /secret/);
    }
  });

  test("a store outage is 503 with Retry-After", async () => {
    const t = await openTestApp();
    const failing = new Proxy(t.store, {
      get: (target, key) =>
        key === "get"
          ? async () => {
              throw new UnavailableError("database is restarting", { retryAfterSeconds: 2 });
            }
          : Reflect.get(target, key),
    }) as SessionStore;
    const t2 = await openTestApp({ store: failing });
    try {
      const res = await t2.call("GET", "/v1/conversations/conv_0123456789abcdef");
      assert.equal(res.status, 503);
      assert.equal(res.headers["retry-after"], "2");
      assert.equal(res.json.error.code, "unavailable");
    } finally {
      await t2.app.close();
      await t.close();
    }
  });

  test("protocol errors use the same shape: bad JSON, too large, wrong type, unknown route", async () => {
    const t = await openTestApp({ bodyLimit: 2048 });
    try {
      const inject = (
        method: "GET" | "POST" | "PUT",
        url: string,
        payload?: string,
        type = "application/json",
      ) =>
        t.app.inject({
          method,
          url,
          payload,
          headers: payload === undefined ? {} : { "content-type": type },
        });
      const cases: [Awaited<ReturnType<typeof inject>>, number, string][] = [
        [await inject("POST", "/v1/conversations", "{not json"), 400, "invalid_json"],
        [await inject("POST", "/v1/conversations", ""), 400, "invalid_json"],
        [
          await inject("POST", "/v1/conversations", `{"metadata":{"a":"${"x".repeat(4000)}"}}`),
          413,
          "payload_too_large",
        ],
        [
          await inject("POST", "/v1/conversations", "<xml/>", "application/xml"),
          415,
          "unsupported_media_type",
        ],
        [await inject("POST", "/v1/conversations", "hello", "text/plain"), 400, "invalid_argument"],
        [await inject("POST", "/v1/conversations", '{"__proto__":{"x":1}}'), 400, "invalid_json"],
        [await inject("GET", "/v2/nothing"), 404, "not_found"],
        [await inject("PUT", "/v1/conversations"), 405, "method_not_allowed"],
        [await inject("PUT", "/v1/conversations/conv_0123456789abcdef/items"), 405, "method_not_allowed"],
        [await inject("GET", "/v1/conversations/conv_0123456789abcdef/nothing"), 404, "not_found"],
      ];
      assert.equal((await inject("PUT", "/v1/conversations")).headers.allow, "GET, HEAD, POST");
      for (const [res, status, code] of cases) {
        assert.equal(res.statusCode, status, res.body);
        assert.equal(res.json().error.code, code, res.body);
        assert.equal(res.json().error.type, "invalid_request_error");
      }
    } finally {
      await t.close();
    }
  });

  test("bytes that are not HTTP get a 400 with the same error body, over a real socket", async () => {
    const t = await openTestApp();
    try {
      await t.app.listen({ host: "127.0.0.1", port: 0 });
      const { port } = t.app.server.address() as { port: number };
      for (const garbage of [
        "\x00\x01\x02 nonsense\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      ]) {
        const reply = await new Promise<string>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () => socket.write(garbage));
          let data = "";
          socket.on("data", (chunk) => {
            data += chunk;
          });
          socket.on("close", () => resolve(data));
          socket.on("error", reject);
        });
        assert.match(reply, /^HTTP\/1\.1 400 /);
        const body = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));
        assert.deepEqual(body.error.code, "invalid_request");
        assert.equal(body.error.type, "invalid_request_error");
      }
    } finally {
      await t.close();
    }
  });

  test("validation errors name the offending parameter", async () => {
    const t = await openTestApp();
    try {
      const res = await t.call("POST", "/v1/conversations", { metadata: { k: 5 } });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.code, "invalid_argument");
      assert.equal(res.json.error.param, "metadata.k");
    } finally {
      await t.close();
    }
  });

  test("an unknown field or a value outside a list is named in the message, with what to send", async () => {
    const t = await openTestApp();
    try {
      const extra = await t.call("POST", "/v1/conversations", { metdata: { topic: "x" } });
      assert.equal(extra.status, 400);
      assert.equal(extra.json.error.param, "metdata");
      assert.match(extra.json.error.message, /^Unknown body field 'metdata': remove it/);
      const created = await t.call("POST", "/v1/conversations", {});
      const status = await t.call("POST", `/v1/conversations/${created.json.id}`, { status: "archivd" });
      assert.equal(status.status, 400);
      assert.equal(status.json.error.param, "status");
      assert.equal(status.json.error.message, 'Invalid body: status must be one of "active", "archived".');
    } finally {
      await t.close();
    }
  });

  test("createServer rejects bad options with messages naming them", async () => {
    const { createServer } = await import("./create-server.ts");
    const t = await openTestApp();
    try {
      await assert.rejects(createServer({ store: t.store, bodyLimit: 10 }), /bodyLimit/);
      await assert.rejects(createServer({ store: {} as SessionStore }), /options\.store/);
    } finally {
      await t.close();
    }
  });
});
