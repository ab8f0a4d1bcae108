/**
 * The transcript lives in the store, not in an instance: two real `holdfast serve` processes over
 * one store, with encryption at rest and an API key, driven by the official `openai` SDK. Every
 * turn, wherever it lands, sends the model the whole history (checked at a recording upstream),
 * even after the other instance wrote, deleted an item or the conversation (the window caches of
 * both instances must miss, never serve what the other removed); `previous_response_id` chains and
 * stored responses resolve on either instance; a key revoked on one stops working on the other
 * within the documented second. On Postgres and Redis. (Busy policies across processes:
 * busy.test.ts.)
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import OpenAI from "openai";
import pg from "pg";
import { ServerFleet } from "../../scripts/chaos/servers.ts";
import { createSecurity } from "../../src/security/create-security.ts";
import { createStore } from "../../src/store/create-store.ts";

const suffix = randomBytes(4).toString("hex");
const HOLDFAST_KEYS = `k1:${randomBytes(32).toString("base64")}`;
const MODEL = "rec/any";

/** What the upstream was sent, one entry per model call: `role:text` per message. */
const calls: string[][] = [];
let upstream: Server;
let dir: string;
let configFile: string;

before(async () => {
  // An OpenAI Chat upstream that records each request's messages and answers "reply <n>".
  upstream = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const request = JSON.parse(body) as { messages: { role: string; content: unknown }[] };
    calls.push(request.messages.map((m) => `${m.role}:${typeof m.content === "string" ? m.content : ""}`));
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        id: `chatcmpl-${calls.length}`,
        object: "chat.completion",
        created: 1,
        model: "any",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: `reply ${calls.length}` },
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
      }),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const { port } = upstream.address() as AddressInfo;
  dir = await mkdtemp(path.join(tmpdir(), "hf-shared-"));
  configFile = path.join(dir, "holdfast.json");
  await writeFile(
    configFile,
    JSON.stringify({
      providers: [
        {
          name: "rec",
          type: "openai-chat",
          baseUrl: `http://127.0.0.1:${port}/v1`,
          retry: { maxRetries: 0 },
        },
      ],
    }),
  );
});

after(async () => {
  await new Promise((resolve) => upstream?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `turn` and answers the messages the upstream got for it (exactly one model call). */
async function sent(turn: () => Promise<unknown>): Promise<string[]> {
  const before = calls.length;
  await turn();
  assert.equal(calls.length, before + 1, "one model call per turn");
  return calls[before]!;
}

const status = (promise: Promise<unknown>): Promise<number | undefined> =>
  promise.then(
    () => 200,
    (error: { status?: number }) => error.status,
  );

function suite(name: string, storeUrl: string, cleanup: () => Promise<void>): void {
  describe(`one transcript, two serve processes: ${name}`, { concurrency: 1 }, () => {
    let servers: ServerFleet;
    let secret: string;
    let a: OpenAI;
    let b: OpenAI;
    let urls: string[];

    before(async () => {
      // The key exists before the servers start: no development mode.
      const store = await createStore(storeUrl);
      try {
        const created = await createSecurity({ store }).apiKeys.create({
          tenant: "default",
          scopes: ["admin", "responses", "conversations:read", "conversations:write"],
        });
        secret = created.secret;
      } finally {
        await store.close();
      }
      servers = new ServerFleet(storeUrl, ["--config", configFile], { HOLDFAST_KEYS });
      await servers.start(2);
      urls = servers.slots.map((slot) => slot.url);
      [a, b] = urls.map((url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: secret, maxRetries: 0 })) as [
        OpenAI,
        OpenAI,
      ];
    });

    after(async () => {
      await servers?.stop();
      await cleanup();
    });

    test("turns alternating between instances each send the whole history", async () => {
      const conv = await a.conversations.create({});
      const order = [a, b, a, b, b, a];
      const expected: string[] = [];
      for (const [i, client] of order.entries()) {
        const messages = await sent(() =>
          client.responses.create({ model: MODEL, input: `q${i}`, conversation: conv.id }),
        );
        expected.push(`user:q${i}`);
        assert.deepEqual(messages, expected, `turn ${i}`);
        expected.push(`assistant:reply ${calls.length}`);
      }
    });

    test("previous_response_id chains and stored responses resolve on either instance", async () => {
      let previous: string | undefined;
      const expected: string[] = [];
      for (let i = 0; i < 4; i++) {
        const [here, there] = i % 2 === 0 ? [a, b] : [b, a];
        let response!: OpenAI.Responses.Response;
        const messages = await sent(async () => {
          response = await here.responses.create({
            model: MODEL,
            input: `p${i}`,
            ...(previous ? { previous_response_id: previous } : {}),
          });
        });
        expected.push(`user:p${i}`);
        assert.deepEqual(messages, expected, `turn ${i}`);
        expected.push(`assistant:${response.output_text}`);
        assert.equal((await there.responses.retrieve(response.id)).output_text, response.output_text);
        const inputs = await there.responses.inputItems.list(response.id);
        assert.deepEqual(
          inputs.data.map((item) => item.type),
          ["message"],
        );
        previous = response.id;
      }
    });

    test("what one instance deletes or appends, the other's next turn reflects at once", async () => {
      const conv = await a.conversations.create({});
      // B's window caches (gateway and decrypted) hold the conversation after these turns.
      await b.responses.create({ model: MODEL, input: "forget me", conversation: conv.id });
      await b.responses.create({ model: MODEL, input: "two", conversation: conv.id });
      const listed = await a.conversations.items.list(conv.id, { order: "asc" });
      await a.conversations.items.delete(listed.data[0]!.id!, { conversation_id: conv.id });
      await a.conversations.items.create(conv.id, {
        items: [{ type: "message", role: "user", content: "appended on A" }],
      });
      const messages = await sent(() =>
        b.responses.create({ model: MODEL, input: "three", conversation: conv.id }),
      );
      assert.equal(messages.filter((m) => m.includes("forget me")).length, 0, JSON.stringify(messages));
      assert.deepEqual(messages.slice(-2), ["user:appended on A", "user:three"]);

      // The conversation deleted on A is gone on B, turns included.
      await a.conversations.delete(conv.id);
      assert.equal(
        await status(b.responses.create({ model: MODEL, input: "after delete", conversation: conv.id })),
        404,
      );
      assert.equal(await status(b.conversations.items.list(conv.id)), 404);

      // A response deleted on A: unknown on B, also as a previous_response_id.
      const response = await b.responses.create({ model: MODEL, input: "delete my response" });
      await b.responses.retrieve(response.id);
      await a.responses.delete(response.id);
      assert.equal(await status(b.responses.retrieve(response.id)), 404);
      assert.equal(
        await status(b.responses.create({ model: MODEL, input: "x", previous_response_id: response.id })),
        404,
      );
    });

    test("a key revoked through one instance stops working on the other within a second", async () => {
      const admin = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
      const made = await fetch(`${urls[0]}/v1/admin/keys`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ scopes: ["conversations:read"] }),
      });
      const { secret: other, key } = (await made.json()) as { secret: string; key: { keyId: string } };
      const list = () =>
        fetch(`${urls[1]}/v1/conversations?limit=1`, { headers: { authorization: `Bearer ${other}` } });
      assert.equal((await list()).status, 200); // B trusts it from its cache now
      const revoked = await fetch(`${urls[0]}/v1/admin/keys/${key.keyId}/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}` },
      });
      assert.equal(revoked.status, 200);
      await sleep(1_100);
      assert.equal((await list()).status, 401);
    });
  });
}

const schema = `hf_shared_${suffix}`;
suite("postgres", `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`, async () => {
  const client = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

const prefix = `hfshared${suffix}:`;
suite("redis", `redis://127.0.0.1:6379/0?prefix=${prefix}`, async () => {
  const redis = new Redis("redis://127.0.0.1:6379");
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});
