/**
 * The hostile-input bar for the whole server with security on: 100,000 random and malformed
 * requests (override with HOLDFAST_FUZZ_RUNS) across every route — session API, gateway, models,
 * tokens — must never produce a 5xx or crash, and every rejection carries a stable code.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { createGateway, type Gateway } from "../engine/gateway.ts";
import { parseProvidersConfig } from "../engine/providers/config.ts";
import { createProviderLayer } from "../engine/providers/create-providers.ts";
import { createSecurity } from "../security/create-security.ts";
import { openTestApp, type TestApp } from "./test-helpers.ts";

const RUNS = Number(process.env.HOLDFAST_FUZZ_RUNS ?? 100_000);

const ROUTES: [string, string][] = [
  ["POST", "/v1/responses"],
  ["POST", "/v1/responses"],
  ["POST", "/v1/chat/completions"],
  ["POST", "/v1/chat/completions"],
  ["GET", "/v1/responses/{resp}"],
  ["GET", "/v1/responses/{resp}/input_items"],
  ["DELETE", "/v1/responses/{resp}"],
  ["GET", "/v1/models"],
  ["GET", "/v1/models/{id}"],
  ["GET", "/v1/conversations/{id}/usage"],
  ["POST", "/v1/conversations/{id}/items"],
  ["GET", "/v1/conversations/{id}/items"],
  ["POST", "/v1/conversations"],
  ["POST", "/v1/auth/token"],
  ["POST", "/v1/auth/logout"],
  ["GET", "/v1/admin/anything"],
];

const weird = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(Number.MAX_VALUE, -1, 0, 2 ** 53, "", "x".repeat(5000), null, [], {}),
);
const messages = fc.oneof(
  weird,
  fc.array(
    fc.record(
      {
        role: fc.oneof(fc.constantFrom("user", "assistant", "system", "tool", "developer"), fc.string()),
        content: weird,
        tool_call_id: weird,
        tool_calls: weird,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 4 },
  ),
  fc.constant([{ role: "user", content: "hello" }]),
);
const input = fc.oneof(
  weird,
  fc.string({ maxLength: 50 }),
  fc.array(
    fc.record(
      {
        type: fc.oneof(
          fc.constantFrom("message", "function_call", "function_call_output", "reasoning", "summary"),
          fc.string(),
        ),
        role: weird,
        content: weird,
        call_id: weird,
        name: weird,
        arguments: weird,
        output: weird,
        id: weird,
      },
      { requiredKeys: [] },
    ),
    { maxLength: 4 },
  ),
);
const turnBody = fc.record(
  {
    model: fc.oneof(fc.constant("mock"), weird),
    input,
    messages,
    instructions: weird,
    conversation: fc.oneof(fc.constant("{known}"), weird, fc.stringMatching(/^conv_[a-f0-9]{32}$/)),
    previous_response_id: fc.oneof(
      fc.constant("{resp}"),
      weird,
      fc.stringMatching(/^resp_[a-f0-9]{16}[a-f0-9]{32}$/),
    ),
    store: weird,
    stream: fc.oneof(fc.boolean(), weird),
    truncation: fc.oneof(fc.constantFrom("auto", "disabled"), weird),
    max_output_tokens: weird,
    tools: fc.oneof(
      weird,
      fc.array(fc.record({ type: weird, name: weird, parameters: weird }, { requiredKeys: [] }), {
        maxLength: 3,
      }),
    ),
    tool_choice: weird,
    metadata: weird,
    temperature: weird,
    grant_type: fc.oneof(fc.constant("refresh_token"), weird),
    refresh_token: weird,
  },
  { requiredKeys: [] },
);
const rawBody = fc.oneof(
  turnBody.map((b) => JSON.stringify(b)),
  fc.string({ maxLength: 100 }),
  fc.constantFrom("{", '{"model":', "\u0000", '{"__proto__":{"x":1}}', `{"input":${"[".repeat(3000)}}`),
);
const segment = fc.oneof(
  fc.constantFrom("{known}", "{resp}", "mock", "%ZZ", "resp_", `resp_${"a".repeat(200)}`),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const auth = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    "Bearer dev",
    "Bearer hf_nope",
    "Bearer a.b.c",
    "Basic xyz",
    "Bearer",
    `Bearer ${"x".repeat(9000)}`,
  ),
);

describe("hostile requests at the whole server (security on) never produce a 5xx", () => {
  let t: TestApp;
  let gateway: Gateway;
  let known: string;
  let resp: string;

  before(async () => {
    t = await openTestApp({ bodyLimit: 64 * 1024 });
    await t.app.close();
    gateway = createGateway({
      store: t.store,
      providers: createProviderLayer(parseProvidersConfig(undefined, {})),
    });
    t = await openTestApp({
      bodyLimit: 64 * 1024,
      gateway: { engine: gateway.engine, models: gateway.models },
      security: { security: createSecurity({ store: t.store }), development: true },
    });
    known = (await t.call("POST", "/v1/conversations", {})).json.id;
    resp = (await t.call("POST", "/v1/responses", { model: "mock", input: "hi", conversation: known })).json
      .id;
  });
  after(async () => {
    await gateway.close();
    await t.close();
  });

  // 100,000 requests (issue 6) take 40–120 s depending on the machine and its load: more than the
  // suite's 120 s per-test limit on a slow or shared VM, so this one test gets its own.
  test(`${RUNS} random requests: every status < 500 with a code`, { timeout: 600_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        segment,
        fc.option(rawBody, { nil: undefined }),
        fc.constantFrom("application/json", "text/plain", ""),
        auth,
        async ([method, template], seg, body, type, authorization) => {
          const fill = (s: string) => s.replaceAll("{known}", known).replaceAll("{resp}", resp);
          const url = fill(template.replace("{id}", seg).replace("{resp}", seg === "{known}" ? resp : seg));
          const headers: Record<string, string> = {};
          if (body !== undefined && type) headers["content-type"] = type;
          if (authorization) headers.authorization = authorization;
          const payload = body === undefined ? undefined : fill(body);
          const res = await t.app.inject({ method: method as "GET", url, headers, payload });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.statusCode >= 400) {
            const error = JSON.parse(res.body).error;
            assert.equal(typeof error.code, "string", res.body);
            assert.equal(typeof error.message, "string");
          }
        },
      ),
      { numRuns: RUNS },
    );
    if (process.env.FUZZ_STATS) console.log(Object.fromEntries(statuses));
    assert.ok(
      [...statuses.keys()].some((s) => s < 300),
      "no request succeeded: the generator proves little",
    );
    assert.ok(
      [...statuses.keys()].some((s) => s >= 400),
      "no rejection",
    );
  });
});
