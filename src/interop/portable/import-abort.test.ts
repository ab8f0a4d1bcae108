/**
 * `importSessions` with a `signal` (the CLI's Ctrl-C): it stops at the next append, deletes the
 * session it was writing, and keeps the sessions before it.
 */
import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { createStore } from "../../store/create-store.ts";
import type { ItemInput, SessionStore } from "../../store/types.ts";
import { exportSessions, importSessions } from "./index.ts";

const T = "acme";

/** An export of two sessions: a short one, then one of 2,500 items (created, then two appends). */
async function twoSessionExport(): Promise<{ text: string; short: string; long: string }> {
  const source = await createStore("memory:");
  try {
    const short = await source.create(T, {
      items: [{ content: { type: "message", role: "user", content: "hi" } }],
    });
    // Export order is creation order, ties broken by random id.
    await setTimeout(2);
    const many: ItemInput[] = [];
    for (let i = 0; i < 2500; i++)
      many.push({ content: { type: "message", role: "user", content: `m${i}` } });
    const long = await source.create(T, { items: many.slice(0, 1000) });
    await source.append(T, long.id, many.slice(1000, 2000));
    await source.append(T, long.id, many.slice(2000));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    await exportSessions(source, T, {}, out);
    return { text: Buffer.concat(chunks).toString("utf8"), short: short.id, long: long.id };
  } finally {
    await source.close();
  }
}

/** `store`, whose first append aborts `controller` once it is written: a Ctrl-C mid-session. */
function abortingAfterFirstAppend(store: SessionStore, controller: AbortController): SessionStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== "append") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: Parameters<SessionStore["append"]>) => {
        const result = await target.append(...args);
        controller.abort(new Error("stop"));
        return result;
      };
    },
  });
}

describe("importSessions with an aborted signal", () => {
  it("deletes the session it was writing, keeps the ones before it, and rejects with the reason", async () => {
    const { text, short, long } = await twoSessionExport();
    const target = await createStore("memory:");
    try {
      const controller = new AbortController();
      await assert.rejects(
        importSessions(abortingAfterFirstAppend(target, controller), T, Readable.from([text]), {
          signal: controller.signal,
        }),
        /^Error: stop$/,
      );
      assert.equal((await target.get(T, short)).itemCount, 1, "the session before it stays, whole");
      await assert.rejects(target.get(T, long), { code: "not_found" }, "no half-imported session");
      // Run again, it completes: nothing of the stopped one is in the way.
      const again = await importSessions(target, T, Readable.from([text]), { onConflict: "skip" });
      assert.deepEqual([again.imported, again.skipped], [1, 1]);
      assert.equal((await target.get(T, long)).itemCount, 2500);
    } finally {
      await target.close();
    }
  });

  it("writes nothing when the signal is aborted before it starts", async () => {
    const { text } = await twoSessionExport();
    const target = await createStore("memory:");
    try {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await assert.rejects(
        importSessions(target, T, Readable.from([text]), { signal: controller.signal }),
        /stop/,
      );
      assert.equal((await target.list(T)).data.length, 0);
    } finally {
      await target.close();
    }
  });
});
