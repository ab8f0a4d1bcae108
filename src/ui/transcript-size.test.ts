/**
 * One session view's answer is bounded in bytes: 5,000 items of 20,000 characters made one
 * answer of about 100 MB. It holds the newest items that fit and says how many older ones it
 * left out.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import type { ItemInput, SessionStore } from "../store/types.ts";
import { registerDashboard } from "./server.ts";
import { loadTranscript, MAX_TRANSCRIPT_BYTES } from "./transcript-page.ts";

const KEY = "admin-key-0123456789abcdef";
/** Envelope around the entries: session row, metadata, window seqs, field names. */
const SLACK = 64 * 1024;

interface Answer {
  entries: { seq: number; text: string }[];
  turns: { seq: number }[];
  omittedItems: number;
  truncatedBefore: boolean;
}

describe("dashboard transcript size", () => {
  let store: SessionStore;
  let app: FastifyInstance;
  let dist: string;
  let cookie = "";

  before(async () => {
    store = await createStore("memory:");
    dist = await mkdtemp(join(tmpdir(), "holdfast-ui-transcript-"));
    await writeFile(join(dist, "index.html"), "<!doctype html><title>Holdfast</title>");
    app = Fastify();
    app.setErrorHandler(handleError);
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dist, env: {} });
    await app.ready();
    const res = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
    cookie = String(res.headers["set-cookie"]).split(";")[0]!;
  });
  after(async () => {
    await app.close();
    await store.close();
    await rm(dist, { recursive: true, force: true });
  });

  /** `count` messages of 19,000 characters, two UTF-8 bytes each: about 38 KB an entry. */
  async function bigSession(count: number): Promise<string> {
    const session = await store.create("default", {});
    for (let done = 0; done < count; done += 100) {
      const items: ItemInput[] = [];
      for (let i = done; i < Math.min(count, done + 100); i++) {
        const text = `#${i + 1} ${"é".repeat(19_000)}`;
        items.push({ tokens: 1, content: { type: "message", role: "user", content: text } });
      }
      await store.append("default", session.id, items);
    }
    return session.id;
  }

  test("a session too big for one answer: the newest items that fit, and how many were left out", async () => {
    const count = 300; // about 11 MB of entries
    const id = await bigSession(count);
    const res = await app.inject({ url: `/ui/api/sessions/${id}`, headers: { cookie } });
    assert.equal(res.statusCode, 200);
    const size = res.rawPayload.byteLength;
    assert.ok(size <= MAX_TRANSCRIPT_BYTES + SLACK, `answer of ${size} bytes`);
    const body = res.json() as Answer;
    const shown = body.entries.length;
    assert.ok(shown >= 40, `the budget is used, not left empty (${shown} entries)`);
    assert.equal(body.omittedItems, count - shown);
    assert.equal(body.truncatedBefore, true);
    // The newest items, oldest first, with no gap.
    assert.deepEqual(
      body.entries.map((e) => e.seq),
      Array.from({ length: shown }, (_, i) => count - shown + 1 + i),
    );
    assert.ok(body.entries.at(-1)!.text.startsWith(`#${count} `));
  });

  test("a session that fits is whole, with nothing left out", async () => {
    const id = await bigSession(20);
    const body = (await app.inject({ url: `/ui/api/sessions/${id}`, headers: { cookie } })).json() as Answer;
    assert.equal(body.entries.length, 20);
    assert.equal(body.omittedItems, 0);
    assert.equal(body.truncatedBefore, false);
    // The item limit too; a deleted item is not counted as left out.
    const third = (await store.readItems("default", id, { limit: 3 }))[2]!;
    await store.deleteItem("default", id, third.id);
    const session = await store.get("default", id);
    const page = await loadTranscript(store, session, { maxItems: 7 });
    assert.deepEqual(
      page.entries.map((e) => e.seq),
      [14, 15, 16, 17, 18, 19, 20],
    );
    assert.equal(page.omittedItems, 12);
    assert.equal((await loadTranscript(store, session)).omittedItems, 0);
  });
});
