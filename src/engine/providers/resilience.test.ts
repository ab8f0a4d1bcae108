/** Retries (honouring retry-after), backoff, circuit breaker transitions, timeouts. */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createMockUpstream } from "../../mock-upstream/index.ts";
import { createAnthropicProvider } from "./anthropic.ts";
import { type BreakerTransition, CircuitBreaker } from "./circuit-breaker.ts";
import { errorFromResponse, ProviderError, parseRetryAfter, UpstreamInvalidRequestError } from "./errors.ts";
import { createHttpClient, DEFAULT_TIMEOUTS } from "./http.ts";
import { createOpenAIChatProvider } from "./openai-chat.ts";
import { backoffDelay, DEFAULT_RETRY, withRetry } from "./retry.ts";
import { collect, layerOf } from "./test-support.ts";
import type { InputItem } from "./types.ts";

const input: InputItem[] = [{ type: "message", role: "user", content: "hi" }];

test("retries honour the upstream's retry-after and then succeed", async () => {
  const mock = await createMockUpstream({ script: ["error:429", "error:503", "ok"], retryAfterMs: 40 });
  const layer = layerOf({ providers: [{ name: "up", type: "openai-chat", baseUrl: `${mock.url}/v1` }] });
  try {
    const provider = layer.providers.get("up")!;
    const waits: number[] = [];
    const codes: string[] = [];
    const result = await withRetry(() => provider.complete({ model: "m", input }), DEFAULT_RETRY, {
      onRetry: (error, _attempt, delayMs) => {
        waits.push(delayMs);
        codes.push((error as ProviderError).code);
      },
    });
    assert.equal(result.status, "completed");
    assert.deepEqual(waits, [40, 40]);
    assert.deepEqual(codes, ["rate_limited", "upstream_error"]);
    assert.equal(mock.stats().requests, 3);
  } finally {
    await layer.close();
    await mock.close();
  }
});

test("no retry for a 400, nor when retry-after exceeds the allowed wait", async () => {
  const mock = await createMockUpstream({ script: ["error:400", "error:429"], retryAfterMs: 60_000 });
  const layer = layerOf({ providers: [{ name: "up", type: "anthropic", baseUrl: mock.url }] });
  try {
    const provider = layer.providers.get("up")!;
    await assert.rejects(
      withRetry(() => provider.complete({ model: "m", input }), DEFAULT_RETRY),
      UpstreamInvalidRequestError,
    );
    await assert.rejects(
      withRetry(() => provider.complete({ model: "m", input }), DEFAULT_RETRY),
      (error: ProviderError) => {
        assert.equal(error.code, "rate_limited");
        assert.equal(error.retryAfterMs, 60_000);
        assert.match(error.message, /answered 429/);
        return true;
      },
    );
    assert.equal(mock.stats().requests, 2);
  } finally {
    await layer.close();
    await mock.close();
  }
});

test("backoff is full-jitter exponential and capped", () => {
  const options = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    backoffDelay(1, options, null, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelay(3, options, null, () => 0.5),
    200,
  );
  assert.equal(
    backoffDelay(10, options, null, () => 0.999),
    999,
  );
  assert.equal(
    backoffDelay(1, options, 2500, () => 0.5),
    2500,
  );
});

test("retry-after parsing: ms header, seconds, HTTP date", () => {
  assert.equal(parseRetryAfter({ "retry-after-ms": "150", "retry-after": "9" }), 150);
  assert.equal(parseRetryAfter({ "retry-after": "2" }), 2000);
  assert.equal(parseRetryAfter({ "retry-after": new Date(10_000).toUTCString() }, 4_000), 6_000);
  assert.equal(parseRetryAfter({}), undefined);
});

test("error mapping keeps the upstream status and detects context-length bodies", () => {
  const openai = errorFromResponse(
    "p",
    400,
    JSON.stringify({ error: { message: "maximum context length is 8192 tokens", code: null } }),
    undefined,
  );
  assert.equal(openai.code, "context_length_exceeded");
  const anthropic = errorFromResponse(
    "p",
    400,
    JSON.stringify({
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is too long: 300000 tokens > 200000 maximum" },
    }),
    undefined,
  );
  assert.equal(anthropic.code, "context_length_exceeded");
  const server = errorFromResponse("p", 502, "<html>bad gateway</html>", undefined);
  assert.equal(server.code, "upstream_error");
  assert.ok(server.retryable && server.fallback);
  assert.match(server.message, /p answered 502/);
  assert.equal(errorFromResponse("p", 401, "{}", undefined).code, "upstream_auth_error");
});

/** A breaker open for 1,000 ms after `failureThreshold` failures, one probe, on `clock.now`. */
function fakeClockBreaker(failureThreshold: number, clock: { now: number }): CircuitBreaker {
  return new CircuitBreaker("up", { failureThreshold, openMs: 1000, halfOpenMaxCalls: 1 }, () => clock.now);
}

test("circuit breaker: closed → open → half-open → closed, and half-open failure re-opens", () => {
  const clock = { now: 0 };
  const breaker = fakeClockBreaker(3, clock);
  const transitions: string[] = [];
  breaker.on("state", (t: BreakerTransition) => transitions.push(`${t.from}>${t.to}`));
  const acquire = () => {
    const ticket = breaker.tryAcquire();
    assert.ok(ticket);
    return ticket;
  };
  for (let i = 0; i < 2; i++) breaker.onFailure(acquire());
  breaker.onSuccess(acquire()); // a success resets the consecutive count
  for (let i = 0; i < 3; i++) breaker.onFailure(acquire());
  assert.equal(breaker.state, "open");
  assert.equal(breaker.tryAcquire(), undefined);
  clock.now = 1000;
  assert.equal(breaker.state, "half-open");
  const trial = acquire();
  assert.equal(breaker.tryAcquire(), undefined, "only one trial at a time");
  breaker.onFailure(trial);
  assert.equal(breaker.state, "open");
  clock.now = 2500;
  breaker.onSuccess(acquire());
  assert.equal(breaker.state, "closed");
  assert.deepEqual(transitions, [
    "closed>open",
    "open>half-open",
    "half-open>open",
    "open>half-open",
    "half-open>closed",
  ]);
});

test("circuit breaker: outcomes of requests that started before it opened do not touch the half-open probe", () => {
  const clock = { now: 0 };
  const breaker = fakeClockBreaker(2, clock);
  // Six requests in flight while closed; two fail and open the circuit.
  const [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map(() => breaker.tryAcquire());
  assert.ok(a && b && c && d && e && f);
  breaker.onFailure(a);
  breaker.onFailure(b);
  assert.equal(breaker.state, "open");
  breaker.onFailure(c); // stale while open: nothing changes
  assert.equal(breaker.state, "open");
  clock.now = 1000;
  const probe = breaker.tryAcquire();
  assert.ok(probe);
  // A late cancel must not free the probe slot, a late success must not close the circuit.
  breaker.onCancel(d);
  assert.equal(breaker.tryAcquire(), undefined, "no second probe while the first runs");
  breaker.onSuccess(e);
  assert.equal(breaker.state, "half-open");
  assert.equal(breaker.tryAcquire(), undefined);
  // A ticket reports once: a second report of the probe's outcome is ignored.
  breaker.onSuccess(probe);
  assert.equal(breaker.state, "closed");
  breaker.onFailure(probe);
  breaker.onFailure(probe);
  assert.equal(breaker.state, "closed");
  // A stale failure from before the circuit opened does not count toward opening it again.
  const fresh = breaker.tryAcquire();
  assert.ok(fresh);
  assert.equal(fresh.state, "closed");
  breaker.onFailure(fresh);
  breaker.onFailure(f);
  assert.equal(breaker.state, "closed");
});

test("breaker options are validated naming the option", () => {
  assert.throws(() => new CircuitBreaker("x", { failureThreshold: 0 }), /breaker\.failureThreshold/);
});

test("headers timeout: a hanging upstream becomes upstream_timeout", async () => {
  const mock = await createMockUpstream({ script: ["hang"] });
  const layer = layerOf({
    providers: [{ name: "up", type: "openai-chat", baseUrl: `${mock.url}/v1`, timeouts: { headersMs: 150 } }],
  });
  try {
    await assert.rejects(
      layer.providers.get("up")!.complete({ model: "m", input }),
      (error: ProviderError) => {
        assert.equal(error.code, "upstream_timeout");
        assert.ok(error.retryable);
        return true;
      },
    );
  } finally {
    await layer.close();
    await mock.close();
  }
});

test("idle timeout: a stream that stalls becomes upstream_timeout", async () => {
  const mock = await createMockUpstream({ ttftMs: 5_000 });
  const layer = layerOf({
    providers: [{ name: "up", type: "anthropic", baseUrl: mock.url, timeouts: { idleMs: 150 } }],
  });
  try {
    const events = layer.providers.get("up")!.stream({ model: "m", input });
    await assert.rejects(
      (async () => {
        for await (const _event of events) {
          // drain
        }
      })(),
      (error: ProviderError) => error.code === "upstream_timeout",
    );
  } finally {
    await layer.close();
    await mock.close();
  }
});

test("a cut non-streamed body is a retryable network error", async () => {
  const mock = await createMockUpstream({ script: ["cut:0"] });
  const layer = layerOf({ providers: [{ name: "up", type: "openai-responses", baseUrl: `${mock.url}/v1` }] });
  try {
    await assert.rejects(
      layer.providers.get("up")!.complete({ model: "m", input }),
      (error: ProviderError) => {
        assert.equal(error.code, "upstream_error");
        assert.ok(error instanceof ProviderError && error.retryable);
        return true;
      },
    );
  } finally {
    await layer.close();
    await mock.close();
  }
});

test("body timeout: headers arrive but the whole body does not come in time", async () => {
  const mock = await createMockUpstream({ ttftMs: 5_000 });
  const http = createHttpClient({
    provider: "up",
    baseUrl: `${mock.url}/v1`,
    headers: {},
    timeouts: { ...DEFAULT_TIMEOUTS, bodyMs: 100 },
  });
  try {
    // A streamed answer read as one JSON body: headers come at once, the body stalls.
    await assert.rejects(
      http.postJson("/chat/completions", { model: "m", stream: true, messages: [] }),
      (error: ProviderError) => {
        assert.equal(error.code, "upstream_timeout");
        assert.match(error.message, /whole body within 100 ms/);
        return true;
      },
    );
  } finally {
    await http.close();
    await mock.close();
  }
});

test("upstream error text never carries the API key, and a huge error body is cut", async () => {
  const key = "sk-holdfast-test-0123456789abcdef";
  const server = createServer((req, res) => {
    const sent = String(req.headers.authorization ?? req.headers["x-api-key"] ?? "");
    if (req.url === "/v1/chat/completions") {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { message: `Incorrect API key provided: ${sent}.`, code: "invalid_api_key" },
        }),
      );
    } else if (req.url === "/v2/chat/completions") {
      res.writeHead(502, { "content-type": "text/html" });
      res.end(`<html>${"x".repeat(1_000_000)} ${sent}</html>`);
    } else {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const error = { type: "error", error: { type: "overloaded_error", message: `key ${sent} overloaded` } };
      res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (path: string, headers: Record<string, string>) =>
    createHttpClient({ provider: "up", baseUrl: `${base}${path}`, headers, timeouts: DEFAULT_TIMEOUTS });
  const chat = client("/v1", { authorization: `Bearer ${key}` });
  const html = client("/v2", { authorization: `Bearer ${key}` });
  const claude = client("", { "x-api-key": key });
  try {
    const noKey = (error: ProviderError): boolean => {
      assert.ok(!error.message.includes(key), error.message.slice(0, 300));
      assert.ok(!String(error.stack).includes(key));
      return true;
    };
    await assert.rejects(
      createOpenAIChatProvider({ name: "up", http: chat }).complete({ model: "m", input }),
      (error: ProviderError) => {
        assert.equal(error.code, "upstream_auth_error");
        assert.match(
          error.message,
          /answered 401 \(invalid_api_key\): Incorrect API key provided: Bearer \[redacted\]\./,
        );
        return noKey(error);
      },
    );
    await assert.rejects(
      createOpenAIChatProvider({ name: "up", http: html }).complete({ model: "m", input }),
      (error: ProviderError) => {
        assert.equal(error.code, "upstream_error");
        assert.ok(error.message.length < 700, `message of ${error.message.length} chars`);
        return noKey(error);
      },
    );
    const long = errorFromResponse(
      "up",
      500,
      JSON.stringify({ error: { message: "y".repeat(100_000) } }),
      undefined,
    );
    assert.match(long.message, /^up answered 500: y{500}… \(100000 characters\)$/);
    const stream = createAnthropicProvider({ name: "up", http: claude }).stream({ model: "m", input });
    await assert.rejects(collect(stream), (error: ProviderError) => {
      assert.equal(error.status, 529);
      assert.match(error.message, /key \[redacted\] overloaded/);
      return noKey(error);
    });
  } finally {
    await Promise.all([chat.close(), html.close(), claude.close()]);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
