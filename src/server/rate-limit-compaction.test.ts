/**
 * A turn's token reservation settles at everything it spent upstream: its own call plus the
 * summarizer calls of the compaction it triggered (the fake upstream reports 1,000 + 200 tokens
 * per summarizer call, 5 + 3 per turn). They used to be left out of the token budget.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  type CompactingUpstream,
  longConversationItems,
  smallModelProviders,
  startCompactingUpstream,
} from "./compaction-test-support.ts";
import { countingBackend, openRateLimitedServer, type RateLimitedServer } from "./rate-limit-test-support.ts";

let compacting: CompactingUpstream;
let server: RateLimitedServer;
const backend = countingBackend();

before(async () => {
  compacting = await startCompactingUpstream();
  server = await openRateLimitedServer({
    backend,
    tokensPerMinute: 1_000_000,
    providers: smallModelProviders(compacting.upstream.baseUrl),
  });
});
after(async () => {
  await server.close();
  await compacting.upstream.close();
});

test("a turn's reservation settles with its compaction's tokens too", async () => {
  for (const stream of [false, true]) {
    const created = await server.app.inject({
      method: "POST",
      url: "/v1/conversations",
      headers: server.headers,
      payload: { items: longConversationItems() },
    });
    assert.equal(created.statusCode, 200, created.body);
    const conversation = (created.json() as { id: string }).id;
    const before = compacting.summarizerCalls();
    const net = backend.net();
    const res = await server.app.inject({
      method: "POST",
      url: "/v1/responses",
      headers: server.headers,
      payload: { model: "small", input: "Hi", conversation, stream, truncation: "auto" },
    });
    assert.equal(res.statusCode, 200, res.body);
    const calls = compacting.summarizerCalls() - before;
    assert.ok(calls > 0, "the turn compacted first");
    assert.equal(backend.net() - net, 8 + 1200 * calls, stream ? "streamed" : "plain");
  }
});
