import assert from "node:assert/strict";
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { Item, SessionStore } from "../../store/types.ts";
import { sessionItems } from "../portable/export.ts";
import { convertPath } from "./convert.ts";
import { exportTranscript } from "./export.ts";
import { importStateDir } from "./import.ts";
import { importedSessionId } from "./session-meta.ts";
import { copyFixture, damageTranscripts, type Expected } from "./test-fixture.ts";
import { parseTranscriptText } from "./transcript.ts";
import { activePath } from "./tree.ts";

const T = "default";

async function items(store: SessionStore, id: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of sessionItems(store, T, id)) out.push(item);
  return out;
}

function entryIdOf(item: Item): string {
  return item.id
    .replace(/^oc_/, "")
    .replace(/_noresult$/, "")
    .replace(/_\d+$/, "");
}

describe("openclaw import (fixture)", () => {
  let fx: { dir: string; expected: Expected; cleanup: () => void };
  let store: SessionStore;
  before(async () => {
    fx = copyFixture();
    store = await createStore("memory:");
  });
  after(() => fx.cleanup());

  it("imports every active branch with its tool calls, summaries, images and metadata", async () => {
    const report = await importStateDir(store, fx.dir);
    assert.equal(report.totals.created, 11);
    assert.equal(report.totals.missing, 1);
    assert.equal(report.totals.tornLines, 1);
    for (const [agentId, agent] of Object.entries(fx.expected.agents) as [string, Expected][]) {
      for (const [key, e] of Object.entries(agent.entries) as [string, Expected][]) {
        const r = report.sessions.find((s) => s.key === key && s.agentId === agentId)!;
        assert.equal(r.sessionId, importedSessionId(agentId, e.sessionId));
        assert.equal(r.tornLines.length, e.tornLines, key);
        if (e.transcript === null) {
          assert.equal(r.status, "missing");
          continue;
        }
        const got = await items(store, r.sessionId);
        const count = (type: string): number => got.filter((i) => i.type === type).length;
        assert.equal(count("function_call"), e.toolCallsOnPath, `${key} calls`);
        // A result whose call is not on the path is kept as a user message (see convert.ts).
        assert.equal(
          count("function_call_output"),
          e.toolResultsOnPath - e.orphanToolResultsOnPath,
          `${key} results`,
        );
        assert.equal(count("summary"), e.compactionsOnPath, `${key} summaries`);
        // Every context entry on the active path yields items, bookkeeping entries none.
        const entries = new Set(got.map(entryIdOf));
        if (e.compactionsOnPath === 0) assert.equal(entries.size, e.contextMessageCount, `${key} context`);
        // In path order, except an orphan result: it waits until the open call's output is in.
        const orphans = got.filter((i) => JSON.stringify(i.content).includes("whose call is not in"));
        assert.equal(orphans.length, e.orphanToolResultsOnPath, `${key} orphans`);
        const inOrder = [...entries].filter((id) => !orphans.some((o) => entryIdOf(o) === id));
        const pathIds = e.activePathIds.map(String);
        assert.deepEqual(
          inOrder,
          pathIds.filter((id: string) => inOrder.includes(id)),
          `${key} order`,
        );
        const session = await store.get(T, r.sessionId);
        assert.equal(session.metadata.openclaw_key, key);
        assert.equal(session.metadata.openclaw_agent, agentId);
        const hasBranches = e.hasBranches as boolean;
        assert.equal(r.forks.length > 0, hasBranches, `${key} forks`);
      }
    }
    const group = await items(
      store,
      importedSessionId(
        "main",
        fx.expected.agents.main.entries["agent:main:telegram:group:-1005021015215"].sessionId,
      ),
    );
    assert.ok(
      group.some((i) =>
        JSON.stringify(i.content).includes('"type":"input_image","image_url":"data:image/png;base64,'),
      ),
    );
    const main = await store.get(
      T,
      importedSessionId("main", fx.expected.agents.main.entries["agent:main:main"].sessionId),
    );
    const oc = main.state.openclaw as Record<string, Record<string, unknown>>;
    assert.ok((oc.usage!.output as number) > 0);
    assert.ok(main.labels.includes("agent:main:main"));
    const mainItems = await items(store, main.id);
    const summaries = mainItems.filter((i) => i.type === "summary");
    const covers = summaries.map((s) => (s.content.covers as { toSeq: number }).toSeq);
    assert.equal(entryIdOf(mainItems[covers[1]!]!), "d7c61d22");
  });

  it("imports other branches as forks sharing the prefix", async () => {
    const report = await importStateDir(store, fx.dir);
    const thread = report.sessions.find((s) => s.key.includes(":thread:"))!;
    const fork = thread.forks[0]!;
    assert.equal(fork.status, "unchanged");
    const forkItems = await items(store, fork.sessionId!);
    const parentItems = await items(store, thread.sessionId);
    assert.deepEqual(
      forkItems.slice(0, fork.atSeq).map((i) => i.id),
      parentItems.slice(0, fork.atSeq).map((i) => i.id),
    );
    assert.equal(forkItems.length, fork.atSeq + fork.items);
    assert.notEqual(forkItems[fork.atSeq]!.id, parentItems[fork.atSeq]?.id);
    // A fork exported gets its own transcript id, not its parent's.
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    await exportTranscript(store, T, fork.sessionId!, out);
    const header = JSON.parse(Buffer.concat(chunks).toString("utf8").split("\n")[0]!);
    assert.notEqual(header.id, thread.openclawSessionId);
    assert.match(header.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("is idempotent, and appends what a transcript gained since", async () => {
    const before = await store.list(T, { limit: 100 });
    const again = await importStateDir(store, fx.dir);
    assert.equal(again.totals.unchanged, 11);
    assert.equal(again.totals.itemsWritten, 0);
    const afterList = await store.list(T, { limit: 100 });
    assert.deepEqual(
      afterList.data.map((s) => [s.id, s.version]),
      before.data.map((s) => [s.id, s.version]),
    );

    const e = fx.expected.agents.ops.entries["cron:daily-digest:run:67583c71-88b5-4020-ba8e-e8b3151712db"];
    const leaf = e.activePathIds.at(-1);
    const line = {
      type: "message",
      id: "abcdef01",
      parentId: leaf,
      timestamp: "2026-10-31T01:00:00.000Z",
      message: { role: "user", content: "one more", timestamp: 1 },
    };
    appendFileSync(join(fx.dir, e.transcript), `${JSON.stringify(line)}\n`);
    const grown = await importStateDir(store, fx.dir);
    const r = grown.sessions.find((s) => s.openclawSessionId === e.sessionId)!;
    assert.equal(r.status, "appended");
    assert.equal(r.written, 1);
    assert.equal(grown.totals.unchanged, 10);
  });

  it("updates a session whose label or model changed with no new items, and only that one", async () => {
    const key = "agent:research:main";
    const indexFile = join(fx.dir, "agents", "research", "sessions", "sessions.json");
    const index = JSON.parse(readFileSync(indexFile, "utf8"));
    const id = importedSessionId("research", index[key].sessionId);
    // Metadata the import does not own is the user's: a re-import keeps it.
    const own = await store.get(T, id);
    await store.update(T, id, { metadata: { ...own.metadata, team: "search" } });
    const before = await store.list(T, { limit: 100 });
    index[key] = { ...index[key], label: "Quarterly research", model: "gpt-5.5" };
    writeFileSync(indexFile, JSON.stringify(index));

    const report = await importStateDir(store, fx.dir);
    const r = report.sessions.find((s) => s.key === key)!;
    assert.deepEqual([r.status, r.written], ["updated", 0]);
    assert.deepEqual(
      [report.totals.updated, report.totals.unchanged, report.totals.itemsWritten],
      [1, 10, 0],
    );
    const session = await store.get(T, id);
    assert.equal(session.metadata.openclaw_label, "Quarterly research");
    assert.equal(session.metadata.openclaw_model, "gpt-5.5");
    assert.equal(session.metadata.team, "search");
    const entry = (session.state.openclaw as { entry: Record<string, unknown> }).entry;
    assert.deepEqual([entry.label, entry.model], ["Quarterly research", "gpt-5.5"]);
    // Nothing else was written to, and a label taken away again is taken away in the store.
    const versions = (list: { data: { id: string; version: number }[] }) =>
      list.data.filter((s) => s.id !== id).map((s) => [s.id, s.version]);
    assert.deepEqual(versions(await store.list(T, { limit: 100 })), versions(before));
    delete index[key].label;
    writeFileSync(indexFile, JSON.stringify(index));
    assert.equal(
      (await importStateDir(store, fx.dir)).sessions.find((s) => s.key === key)!.status,
      "updated",
    );
    const unlabelled = await store.get(T, id);
    assert.equal(unlabelled.metadata.openclaw_label, undefined);
    assert.equal((unlabelled.state.openclaw as { entry: Record<string, unknown> }).entry.label, undefined);
    // Once in step, a re-import writes nothing.
    const again = await importStateDir(store, fx.dir);
    assert.equal(again.totals.unchanged, 11);
    assert.equal((await store.get(T, id)).version, unlabelled.version);
  });

  it("exports a session as a v3 transcript that parses back to the same items", async () => {
    for (const key of [
      "agent:main:main",
      "agent:main:telegram:group:-1005021015215",
      "agent:research:main",
    ]) {
      const agentId = key.split(":")[1]!;
      const id = importedSessionId(agentId, fx.expected.agents[agentId].entries[key].sessionId);
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      const summary = await exportTranscript(store, T, id, out);
      const text = Buffer.concat(chunks).toString("utf8");
      const parsed = await parseTranscriptText(text);
      assert.equal(parsed.formatVersion, 3);
      assert.equal(parsed.header?.id, fx.expected.agents[agentId].entries[key].sessionId);
      assert.equal(parsed.tornLines.length, 0);
      assert.equal(parsed.entries.length, summary.entries);
      assert.equal(JSON.parse(text.slice(0, text.indexOf("\n"))).type, "session");
      const back = convertPath(activePath(parsed.entries)).items.map((i) => i.content);
      const stored = (await items(store, id)).map((i) => i.content);
      assert.deepEqual(back, stored, key);
    }
  });
});

describe("openclaw import (unreadable transcripts)", () => {
  it("reports each unreadable transcript as a failed session with the reason and imports the rest", async () => {
    const fx = copyFixture();
    try {
      // A directory where the file should be; bytes that are not UTF-8 in the middle of a line
      // (refused, not turned into U+FFFD).
      const [dir, binary, torn, noRead] = damageTranscripts(fx);
      // A crash mid-append that cut a character in two is a torn last line, not a failure.
      appendFileSync(
        torn!.path,
        Buffer.concat([Buffer.from('{"type":"message","x":"caf'), Buffer.from([0xc3])]),
      );
      // No read permission (root reads it anyway).
      const asRoot = process.getuid?.() === 0;
      if (!asRoot) chmodSync(noRead!.path, 0o000);

      const store = await createStore("memory:");
      const report = await importStateDir(store, fx.dir);
      const failed = report.sessions.filter((s) => s.status === "failed");
      const byKey = (k: { agentId: string; key: string }) =>
        report.sessions.find((s) => s.agentId === k.agentId && s.key === k.key)!;
      assert.equal(byKey(dir!).status, "failed");
      assert.match(byKey(dir!).note!, /could not be read: EISDIR/);
      assert.equal(byKey(binary!).status, "failed");
      assert.match(byKey(binary!).note!, /could not be read: not valid UTF-8/);
      assert.equal(byKey(torn!).status, "created");
      assert.equal(
        byKey(torn!).tornLines.length,
        1 + (fx.expected.agents[torn!.agentId].entries[torn!.key].tornLines as number),
      );
      if (!asRoot) assert.match(byKey(noRead!).note!, /could not be read: EACCES/);
      assert.equal(report.totals.failed, failed.length);
      assert.equal(failed.length, asRoot ? 2 : 3);
      // Everything else went in.
      assert.equal(report.totals.created, 11 - failed.length);
      assert.equal(report.totals.missing, 1);
      for (const f of failed) await assert.rejects(store.get(T, f.sessionId), { code: "not_found" });
    } finally {
      fx.cleanup();
    }
  });
});
