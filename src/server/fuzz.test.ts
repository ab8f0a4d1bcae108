/**
 * Nothing a client sends may produce a 5xx: random bodies, bad ids, bad JSON, huge numbers,
 * wrong content types and query strings, at every route. Every failure carries an error code.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { openTestApp, type TestApp, userMessage } from "./test-helpers.ts";

const ROUTES: [string, string][] = [
  ["GET", "/healthz"],
  ["POST", "/v1/conversations"],
  ["GET", "/v1/conversations"],
  ["GET", "/v1/conversations/{id}"],
  ["POST", "/v1/conversations/{id}"],
  ["DELETE", "/v1/conversations/{id}"],
  ["GET", "/v1/conversations/{id}/items"],
  ["POST", "/v1/conversations/{id}/items"],
  ["GET", "/v1/conversations/{id}/items/{item}"],
  ["GET", "/v1/conversations/{id}/window"],
  ["GET", "/v1/conversations/{id}/state"],
  ["PATCH", "/v1/conversations/{id}/state"],
  ["POST", "/v1/conversations/{id}/fork"],
  ["PUT", "/v1/conversations/{id}"],
];

const hugeNumber = fc.oneof(
  fc.constantFrom(
    "1e309",
    "-1e309",
    "99999999999999999999999",
    "NaN",
    "-0",
    "1.5",
    "0x10",
    "9007199254740993",
  ),
  fc.double().map(String),
);

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record(
    {
      items: fc.oneof(
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }),
        fc.constant([userMessage("ok")]),
        fc.array(fc.record({ type: fc.string(), role: fc.string(), id: fc.string() }, { requiredKeys: [] })),
      ),
      metadata: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue({ maxDepth: 2 })),
      labels: fc.oneof(fc.array(fc.string()), fc.jsonValue({ maxDepth: 1 })),
      owner: fc.jsonValue({ maxDepth: 1 }),
      idle_ttl_ms: fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER)),
      expires_at: fc.oneof(fc.integer(), fc.double(), fc.constant(8_640_000_000_000)),
      at_seq: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53)),
      at_item_id: fc.string(),
      pinned: fc.jsonValue({ maxDepth: 1 }),
      status: fc.string(),
      state: fc.jsonValue({ maxDepth: 4 }),
    },
    { requiredKeys: [] },
  ),
);

const rawBody = fc.oneof(
  jsonish.map((v) => JSON.stringify(v) ?? "null"),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    "{",
    "[",
    '{"items":',
    "\u0000",
    '{"__proto__":{}}',
    '{"constructor":{"prototype":{}}}',
    "[".repeat(5000),
  ),
  // Deep nesting must be refused by depth limits, never by a stack overflow.
  fc.constantFrom(
    `{"items":[{"type":"m","c":${"[".repeat(20000)}${"]".repeat(20000)}}]}`,
    `{"state":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`,
    `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
  ),
  hugeNumber.map((n) => `{"at_seq":${n},"idle_ttl_ms":${n}}`),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/merge-patch+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/json; charset=latin1",
  "",
);

const segment = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom("conv_", "conv_%00%00%00%00%00%00%00%00", "..%2F..", `conv_${"a".repeat(300)}`, "%ZZ"),
  fc.stringMatching(/^conv_[A-Za-z0-9_-]{8,40}$/),
);

const query = fc.oneof(
  fc.constant(""),
  fc
    .dictionary(
      fc.constantFrom(
        "limit",
        "after",
        "order",
        "max_tokens",
        "expected_version",
        "owner",
        "label",
        "status",
        "updated_before",
        "x",
      ),
      fc.oneof(fc.string({ maxLength: 20 }), hugeNumber),
      { maxKeys: 4 },
    )
    .map((q) => `?${new URLSearchParams(q).toString()}`),
  fc.constantFrom("?limit=1&limit=2", "?after[]=x", "?%", "?max_tokens=99999999999999999999"),
);

describe("hostile requests never produce a 5xx", () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = await openTestApp({ bodyLimit: 64 * 1024 });
    id = (await t.call("POST", "/v1/conversations", { items: [{ id: "msg_known", ...userMessage("hi") }] }))
      .json.id;
  });
  after(() => t.close());

  test("random requests at every route get < 500, and every error has a code", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(fc.constant("known"), segment),
        fc.oneof(fc.constant("msg_known"), segment),
        query,
        fc.option(rawBody, { nil: undefined }),
        contentType,
        fc.dictionary(
          fc.constantFrom("if-match", "if-none-match", "idempotency-key"),
          fc.string({ maxLength: 30 }),
          {
            maxKeys: 2,
          },
        ),
        async ([method, template], convId, itemId, qs, body, type, extra) => {
          const url =
            template.replace("{id}", convId === "known" ? id : convId).replace("{item}", itemId) + qs;
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(extra)) if (/^[\x20-\x7e]*$/.test(v)) headers[k] = v;
          if (body !== undefined && type) headers["content-type"] = type;
          const res = await t.app.inject({ method: method as "GET", url, headers, payload: body });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.statusCode >= 400) {
            const error = JSON.parse(res.body).error;
            assert.equal(typeof error.code, "string", res.body);
            assert.equal(error.type, "invalid_request_error");
            assert.equal(typeof error.message, "string");
          }
        },
      ),
      { numRuns: 1500 },
    );
    if (process.env.FUZZ_STATS) console.log(Object.fromEntries(statuses));
    // The generator must reach both accepted and rejected paths, or the test proves little.
    assert.ok(
      [...statuses.keys()].some((s) => s < 300),
      `no success among ${[...statuses.keys()]}`,
    );
    assert.ok(
      [...statuses.keys()].some((s) => s >= 400),
      "no rejection",
    );
  });
});
