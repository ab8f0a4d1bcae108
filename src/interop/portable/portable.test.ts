import assert from "node:assert/strict";
import { PassThrough, Readable } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { createSessionStore } from "../../store/core.ts";
import { createStore } from "../../store/create-store.ts";
import { createMemoryDriver } from "../../store/drivers/memory.ts";
import type { ItemInput, SessionStore } from "../../store/types.ts";
import { exportSessions, importSessions, PortableWriter, sessionItems } from "./index.ts";

const T = "acme";

async function seed(store: SessionStore): Promise<string[]> {
  const a = await store.create(T, {
    owner: "u1",
    metadata: { k: "v" },
    labels: ["x:y"],
    state: { n: 1, nested: { z: [1, 2.5, "é"] } },
    items: [
      {
        content: {
          type: "message",
          role: "user",
          content: [{ type: "input_text", text: 'héllo \u2028 "q"' }],
        },
      },
      {
        content: { type: "function_call", call_id: "c1", name: "f", arguments: '{"b":1,"a":2}' },
        turnId: "t1",
      },
      { content: { type: "function_call_output", call_id: "c1", output: "ok" }, tokens: 7 },
    ],
  });
  const many: ItemInput[] = [];
  for (let i = 0; i < 1500; i++)
    many.push({ content: { type: "message", role: "user", content: `m${i}`, z: { b: 1, a: i } } });
  // Sessions export in creation order, ties broken by random id: a, b, c must not share a millisecond.
  await setTimeout(2);
  const b = await store.create(T, { items: many.slice(0, 1000) });
  await store.append(T, b.id, many.slice(1000));
  await setTimeout(2);
  const c = await store.create(T, {});
  await store.update(T, c.id, { status: "archived" });
  return [a.id, b.id, c.id];
}

async function exportText(store: SessionStore, ids?: string[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await exportSessions(store, T, ids ? { ids } : {}, out, { now: new Date(0) });
  out.end();
  return Buffer.concat(chunks).toString("utf8");
}

async function dump(store: SessionStore, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of sessionItems(store, T, id)) {
    out.push(JSON.stringify([item.seq, item.id, item.tokens, item.turnId, item.content]));
  }
  return out;
}

describe("portable format", () => {
  it("round-trips sessions losslessly between stores", async () => {
    const src = await createStore("memory:");
    const dst = await createStore("memory:");
    const ids = await seed(src);
    const text = await exportText(src);
    const lines = text.trimEnd().split("\n");
    assert.equal(JSON.parse(lines[0]!).format, "holdfast.sessions");
    assert.deepEqual(JSON.parse(lines.at(-1)!).counts, { sessions: 3, items: 1503 });
    const summary = await importSessions(dst, T, Readable.from([text]));
    assert.equal(summary.imported, 3);
    assert.equal(summary.items, 1503);
    for (const id of ids) {
      assert.deepEqual(await dump(dst, id), await dump(src, id));
      const [s, d] = [await src.get(T, id), await dst.get(T, id)];
      assert.deepEqual(
        [d.owner, d.metadata, d.labels, d.state, d.status, d.itemCount, d.tokenCount, d.bytes],
        [s.owner, s.metadata, s.labels, s.state, s.status, s.itemCount, s.tokenCount, s.bytes],
      );
    }
    // Exporting the copy yields the same item lines byte for byte.
    const again = await exportText(dst, ids);
    const itemLines = (t: string): string[] => t.split("\n").filter((l) => l.startsWith('{"kind":"item"'));
    assert.deepEqual(
      itemLines(again).map((l) => JSON.parse(l).item.content),
      itemLines(text).map((l) => JSON.parse(l).item.content),
    );
    assert.equal(
      itemLines(again)
        .map((l) => JSON.stringify(JSON.parse(l).item.content))
        .join("\n"),
      itemLines(text)
        .map((l) => JSON.stringify(JSON.parse(l).item.content))
        .join("\n"),
    );
  });

  it("skips or fails on existing sessions", async () => {
    const src = await createStore("memory:");
    await seed(src);
    const text = await exportText(src);
    await assert.rejects(importSessions(src, T, Readable.from([text])), { code: "conflict" });
    const again = await importSessions(src, T, Readable.from([text]), { onConflict: "skip" });
    assert.equal(again.imported, 0);
    assert.equal(again.skipped, 3);
  });

  it("with reopen and onConflict fail, a conflict anywhere in the file imports nothing, naming the ids", async () => {
    const src = await createStore("memory:");
    const [a, b, c] = await seed(src);
    const text = await exportText(src);
    const dst = await createStore("memory:");
    await importSessions(dst, T, Readable.from([await exportText(src, [b!])]));
    const reopen = () => Readable.from([text]);
    await assert.rejects(importSessions(dst, T, reopen(), { reopen }), {
      code: "conflict",
      param: "id",
      message: `1 session(s) of the file already exist in the target: '${b}'; nothing was imported. Import with onConflict "skip" to keep them and import the others.`,
    });
    for (const id of [a!, c!]) await assert.rejects(dst.get(T, id), { code: "not_found" });
    // A stream is read once: the error says what stays imported.
    await assert.rejects(importSessions(dst, T, Readable.from([text])), {
      code: "conflict",
      message: `Session '${b}' already exists in the target; the 1 session(s) before it in the file were imported and stay. Import with onConflict "skip" to keep it and import the rest.`,
    });
    assert.equal((await dst.get(T, a!)).itemCount, 3);
    await assert.rejects(dst.get(T, c!), { code: "not_found" });
    // Many conflicts: the first five, then a count.
    const many = await createStore("memory:");
    for (let i = 0; i < 7; i++) await many.create(T, {});
    const all = await exportText(many);
    const again = () => Readable.from([all]);
    await assert.rejects(importSessions(many, T, again(), { reopen: again }), {
      message:
        /^7 session\(s\) of the file already exist in the target: ('conv_\w+', ){4}'conv_\w+' and 2 more; nothing was imported\./,
    });
  });

  it("leaves out sessions whose expiry passed since the export, and imports the rest", async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const src = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const dst = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const soon = await src.create(T, { expiresAt: clock.now + 1000, items: [{ content: { type: "x" } }] });
    clock.now += 1;
    const kept = await src.create(T, { expiresAt: clock.now + 60_000, items: [{ content: { type: "y" } }] });
    const text = await exportText(src);
    clock.now += 5000;
    for (const onConflict of ["fail", "skip"] as const) {
      const summary = await importSessions(dst, T, Readable.from([text]), { onConflict });
      assert.deepEqual(summary.expiredIds, [soon.id], onConflict);
      assert.equal(summary.imported + summary.skipped, 1);
      assert.equal(summary.items, summary.imported);
    }
    assert.deepEqual(
      (await dst.list(T)).data.map((s) => s.id),
      [kept.id],
    );
  });

  it("rejects a corrupted item and writes nothing of that session", async () => {
    const src = await createStore("memory:");
    const [a] = await seed(src);
    const text = (await exportText(src)).replace("héllo", "hallo");
    const dst = await createStore("memory:");
    await assert.rejects(importSessions(dst, T, Readable.from([text])), /checksum.*corrupted/);
    await assert.rejects(dst.get(T, a!), { code: "not_found" });
  });

  it("a file with Windows line endings or a byte order mark says so, not 'corrupted'; a wrong count says which", async () => {
    const src = await createStore("memory:");
    await seed(src);
    const text = await exportText(src);
    const dst = await createStore("memory:");
    await assert.rejects(importSessions(dst, T, Readable.from([text.replaceAll("\n", "\r\n")])), {
      code: "invalid_argument",
      message: /^Portable file, line 1: the line ends in \\r\\n \(Windows line endings.*dos2unix/,
    });
    await assert.rejects(importSessions(dst, T, Readable.from([`\uFEFF${text}`])), {
      message: /^Portable file, line 1: the file starts with a byte order mark/,
    });
    const lines = text.split("\n");
    const end = lines.findIndex((line) => line.includes('"session_end"'));
    lines[end] = lines[end]!.replace('"items":3', '"items":4');
    await assert.rejects(importSessions(dst, T, Readable.from([lines.join("\n")])), {
      message: new RegExp(
        `^Portable file, line ${end + 1}: session '.*' has 3 item\\(s\\) where its session_end says 4`,
      ),
    });
    assert.equal((await dst.list(T)).data.length, 0);
  });

  it("detects truncation inside a session and between sessions", async () => {
    const src = await createStore("memory:");
    const [a, b] = await seed(src);
    const text = await exportText(src, [a!, b!]);
    const dst = await createStore("memory:");
    const cut = text.slice(0, text.indexOf("m1200"));
    await assert.rejects(importSessions(dst, T, Readable.from([cut])), /truncated/);
    assert.equal((await dst.get(T, a!)).itemCount, 3);
    await assert.rejects(dst.get(T, b!), { code: "not_found" });

    const dst2 = await createStore("memory:");
    const withoutTrailer = text.slice(0, text.lastIndexOf('{"kind":"trailer"'));
    await assert.rejects(
      importSessions(dst2, T, Readable.from([withoutTrailer])),
      /ends without its trailer/,
    );
  });

  it("rejects a session id that appears twice in one file, even with --on-conflict skip", async () => {
    const src = await createStore("memory:");
    const [a] = await seed(src);
    const session = await src.get(T, a!);
    // Two copies with different items and a trailer that matches them: a well-formed file otherwise.
    const w = new PortableWriter();
    let text = w.manifest({ driver: "memory", tenant: T });
    for (const take of [3, 1]) {
      text += w.session(session);
      for (const item of (await src.readItems(T, a!)).slice(0, take)) text += w.item(item);
      text += w.endSession();
    }
    text += w.trailer().text;
    const dst = await createStore("memory:");
    await assert.rejects(importSessions(dst, T, Readable.from([text]), { onConflict: "skip" }), {
      code: "invalid_argument",
      message: new RegExp(`line 7: session '${a}' appears twice \\(first on line 2\\)`),
    });
    assert.equal((await dst.get(T, a!)).itemCount, 3, "the first copy, whole; the second is not merged");
  });

  it("imports a gzip-compressed export; a truncated one fails naming the damage", async () => {
    const src = await createStore("memory:");
    const ids = await seed(src);
    const gz = gzipSync(await exportText(src));
    const dst = await createStore("memory:");
    const summary = await importSessions(dst, T, Readable.from([gz.subarray(0, 10), gz.subarray(10)]));
    assert.equal(summary.imported, 3);
    for (const id of ids) assert.deepEqual(await dump(dst, id), await dump(src, id));
    const cut = await createStore("memory:");
    await assert.rejects(importSessions(cut, T, Readable.from([gz.subarray(0, gz.length - 20)])), {
      code: "invalid_argument",
      message: /^Portable file: the gzip data is damaged or truncated \(unexpected end of file\)/,
    });
  });

  it("rejects unknown format versions with a clear message", async () => {
    const dst = await createStore("memory:");
    const bad = '{"kind":"manifest","format":"holdfast.sessions","version":9}\n';
    await assert.rejects(importSessions(dst, T, Readable.from([bad])), /version 9 is not supported/);
    await assert.rejects(importSessions(dst, T, Readable.from([""])), /empty/);
  });
});
