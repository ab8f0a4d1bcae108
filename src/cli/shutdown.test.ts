/**
 * Graceful shutdown of the real binary: on SIGTERM the server stops accepting, lets streams in
 * flight finish up to its deadline, cuts the rest short (committing their partial output as
 * incomplete), closes the store and exits 0.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createMockUpstream } from "../mock-upstream/server.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { startServe } from "./cli-helpers.ts";

interface StreamResult {
  events: string[];
  text: string;
}

/** The body of a turn on the slow route; the streamed and the non-streamed tests send the same one. */
function turnBody(conversation: string, stream?: true): string {
  return JSON.stringify({
    model: "slow",
    input: "tell me something about lighthouses please",
    conversation,
    ...(stream ? { stream } : {}),
  });
}

/** Opens the SQLite store a finished server left behind, runs `check` on it and closes it. */
async function inStore(db: string, check: (store: SessionStore) => Promise<void>): Promise<void> {
  const store = await createStore(`sqlite:${db}`);
  try {
    await check(store);
  } finally {
    await store.close();
  }
}

/** Opens a streaming turn; resolves `firstDelta` when text starts flowing and `done` at the end. */
function openStream(
  url: string,
  conversation: string,
): { firstDelta: Promise<void>; done: Promise<StreamResult> } {
  let started!: () => void;
  const firstDelta = new Promise<void>((resolve) => {
    started = resolve;
  });
  const done = (async () => {
    const res = await fetch(`${url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: turnBody(conversation, true),
    });
    const events: string[] = [];
    let text = "";
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.+)$/m.exec(block)?.[1];
        if (!type) continue;
        events.push(type);
        if (type === "response.output_text.delta") {
          text += JSON.parse(/^data: (.+)$/m.exec(block)![1]!).delta;
          started();
        }
      }
    }
    return { events, text };
  })();
  return { firstDelta, done };
}

describe("holdfast serve: graceful shutdown", () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof createMockUpstream>>;
  let config: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hf-shutdown-"));
    // Four tokens a second: a reply takes a few seconds, long enough to be caught mid-stream.
    upstream = await createMockUpstream({ port: 0, tokensPerS: 4 });
    config = path.join(dir, "holdfast.config.json");
    await writeFile(
      config,
      JSON.stringify({
        providers: [{ name: "up", type: "openai-chat", baseUrl: `${upstream.url}/v1` }],
        routes: { slow: [{ provider: "up", model: "slow" }] },
      }),
    );
  });
  after(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  const create = async (url: string): Promise<string> => {
    const res = await fetch(`${url}/v1/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return ((await res.json()) as { id: string }).id;
  };

  /** Starts `holdfast serve` on a fresh SQLite file in the test folder with the given shutdown deadline. */
  const serve = async (dbName: string, shutdownTimeoutMs: number) => {
    const db = path.join(dir, dbName);
    const server = await startServe([
      "--port",
      "0",
      "--store",
      `sqlite:${db}`,
      "--config",
      config,
      "--shutdown-timeout",
      String(shutdownTimeoutMs),
    ]);
    return { db, server };
  };

  test("past the deadline, streams are cut short, saved as incomplete, and the process exits 0", async () => {
    const { db, server } = await serve("cut.db", 300);
    const conversations = [await create(server.url), await create(server.url)];
    const streams = conversations.map((id) => openStream(server.url, id));
    await Promise.all(streams.map((s) => s.firstDelta));
    server.child.kill("SIGTERM");
    const results = await Promise.all(streams.map((s) => s.done));
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /2 turn\(s\) cut short/);
    await assert.rejects(fetch(`${server.url}/healthz`), "no longer accepting");
    await inStore(db, async (store) => {
      for (const [i, id] of conversations.entries()) {
        assert.equal(results[i]!.events.at(-1), "response.incomplete");
        const items = await store.readItems("default", id);
        const record = items.at(-1)!;
        assert.equal(record.type, "response_record");
        assert.equal(record.content.status, "incomplete");
        const partial = items.find((item) => item.role === "assistant");
        assert.ok(
          partial && JSON.stringify(partial.content).includes(results[i]!.text.trim().split(" ")[0]!),
        );
      }
    });
  });

  test("a non-streamed turn in flight is cut short at the deadline and the exit follows at once", async () => {
    const { db, server } = await serve("plain.db", 300);
    const id = await create(server.url);
    const reached = once(upstream.events, "request");
    const answer = fetch(`${server.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: turnBody(id),
    });
    await reached;
    const signalled = Date.now();
    server.child.kill("SIGTERM");
    const exit = await server.exited;
    const took = Date.now() - signalled;
    assert.equal(exit.code, 0, exit.stderr);
    // Keep-alive connections and the aborted reply do not hold the exit: deadline + a small margin.
    assert.ok(took < 300 + 2000, `exited ${took} ms after SIGTERM`);
    assert.match(exit.stdout, /1 turn\(s\) cut short/);
    const res = await answer;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, "incomplete");
    await inStore(db, async (store) => {
      const items = await store.readItems("default", id);
      assert.deepEqual(
        items.map((item) => item.type),
        ["message", "response_record"],
      );
      assert.equal(items[1]!.content.status, "incomplete");
    });
  });

  test("within the deadline, streams in flight finish normally before the exit", async () => {
    const { server } = await serve("finish.db", 20000);
    const stream = openStream(server.url, await create(server.url));
    await stream.firstDelta;
    server.child.kill("SIGTERM");
    const result = await stream.done;
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(result.events.at(-1), "response.completed");
    assert.doesNotMatch(exit.stdout, /cut short/);
  });
});
