/**
 * `GET /v1/conversations/{id}/usage` adds money in integer nano-dollars: its totals were a float
 * sum, so turns costing 0.1 and 0.2 USD answered `"cost_usd": 0.30000000000000004`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ledgerRecord as record } from "../engine/turn/ledger-record-test-support.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { openSdkGateway, type SdkGateway } from "./sdk-test-gateway.ts";

describe("a conversation's usage totals", () => {
  let store: SessionStore;
  let gw: SdkGateway;
  before(async () => {
    store = await createStore("memory:");
    gw = await openSdkGateway(store);
  });
  after(() => gw.close());

  test("0.1 + 0.2 USD is 0.3, in the total and in the compaction share", async () => {
    const conv = await store.create("default");
    await store.append("default", conv.id, [record(0.1, 0.1), record(0.2, 0.2), record(null)]);
    const res = await gw.t.app.inject({ method: "GET", url: `/v1/conversations/${conv.id}/usage` });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as {
      turns: Array<{ cost_usd: number | null }>;
      total: { turns: number; cost_usd: number; compaction: { calls: number; cost_usd: number } };
    };
    assert.deepEqual(
      body.turns.map((t) => t.cost_usd),
      [0.1, 0.2, null],
    );
    assert.equal(body.total.turns, 3);
    assert.equal(body.total.compaction.calls, 2);
    // As written on the wire, not only as parsed back.
    assert.match(res.body, /"compaction":\{"calls":2,[^}]*"cost_usd":0\.3\}/);
    assert.match(res.body, /"cost_usd":0\.6,"compaction"/);
    assert.equal(body.total.compaction.cost_usd, 0.3);
    assert.equal(body.total.cost_usd, 0.6);
  });
});
