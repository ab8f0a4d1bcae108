/**
 * Entry ids used twice in one v2/v3 transcript (two processes appending to one file, a first
 * write retried). The tree used to keep only the last entry of an id: an earlier sibling with the
 * same id became an empty fork, and a reused id on the active branch cut everything above it off.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { Item } from "../../store/types.ts";
import { sessionItems } from "../portable/export.ts";
import { importStateDir } from "./import.ts";
import { importedSessionId } from "./session-meta.ts";
import { assertAuditWarnsAsImport, writeStateDir } from "./test-fixture.ts";
import { parseTranscriptText } from "./transcript.ts";
import { analyzeTranscript } from "./tree.ts";

const line = (id: string, parentId: string | null, text: string, role = "user"): string =>
  JSON.stringify({
    type: "message",
    id,
    parentId,
    timestamp: "2026-01-01T00:00:00Z",
    message: role === "user" ? { role, content: text } : { role, content: [{ type: "text", text }] },
  });

/** Two writers each appended a reply to `b` and drew the same id `c`. */
const SIBLINGS = [
  line("a", null, "hello"),
  line("b", "a", "hi", "assistant"),
  line("c", "b", "first writer"),
  line("c", "b", "second writer"),
];
/** A later entry reuses `b` on the active branch; `d` is the child of that second `b`. */
const CHAIN = [
  line("a", null, "one"),
  line("b", "a", "two", "assistant"),
  line("c", "b", "three"),
  line("b", "c", "four", "assistant"),
  line("d", "b", "five"),
];
/** The first three lines written again, as a retried first write does, then the conversation goes on. */
const REPEATED = [
  line("a", null, "one"),
  line("b", "a", "two", "assistant"),
  line("a", null, "one"),
  line("b", "a", "two", "assistant"),
  line("c", "b", "three"),
];

const texts = (items: Item[]): string[] =>
  items.map((i) => ((i.content.content as { text: string }[])[0] as { text: string }).text);

async function itemsOf(store: Awaited<ReturnType<typeof createStore>>, id: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of sessionItems(store, "default", id)) out.push(item);
  return out;
}

describe("openclaw transcripts with a repeated entry id", () => {
  it("keeps both entries of a reused id and hangs each child on the nearest entry above it", async () => {
    const chain = await parseTranscriptText(
      [JSON.stringify({ type: "session", version: 3, id: "s" }), ...CHAIN].join("\n"),
    );
    assert.deepEqual(
      analyzeTranscript(chain).path.map((e) => e.id),
      ["a", "b", "c", "b~2", "d"],
    );
    assert.deepEqual(chain.duplicates, [{ id: "b", line: 4, firstLine: 2, keptAs: "b~2" }]);
    const repeated = await parseTranscriptText(
      [JSON.stringify({ type: "session", version: 3, id: "s" }), ...REPEATED].join("\n"),
    );
    assert.deepEqual(
      repeated.entries.map((e) => e.id),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      repeated.duplicates.map((d) => [d.line, d.keptAs]),
      [
        [3, null],
        [4, null],
      ],
    );
    assert.equal(analyzeTranscript(repeated).hasBranches, false);
  });

  it("imports every message, reports each repeat as a duplicate_entry_id warning, and re-imports unchanged", async () => {
    const fx = writeStateDir({ siblings: SIBLINGS, chain: CHAIN, repeated: REPEATED });
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      const by = (sessionId: string) => report.sessions.find((s) => s.openclawSessionId === sessionId)!;

      // The first writer's reply is a branch off `b`: a fork holding it, not an empty one.
      const siblings = by("siblings");
      assert.equal(siblings.status, "created");
      assert.deepEqual(texts(await itemsOf(store, siblings.sessionId)), ["hello", "hi", "second writer"]);
      assert.equal(siblings.forks.length, 1);
      assert.equal(siblings.forks[0]!.status, "created");
      assert.deepEqual(texts(await itemsOf(store, siblings.forks[0]!.sessionId!)), [
        "hello",
        "hi",
        "first writer",
      ]);
      assert.deepEqual(
        siblings.warnings.map((w) => [w.code, w.entryId, w.line]),
        [["duplicate_entry_id", "c", 4]],
      );
      assert.match(
        siblings.warnings[0]!.message,
        /already used at line 3; both are imported, this one as 'c~2'/,
      );

      const chain = by("chain");
      assert.deepEqual(texts(await itemsOf(store, chain.sessionId)), ["one", "two", "three", "four", "five"]);
      assert.equal(chain.forks.length, 0);
      assert.equal(chain.warnings.length, 1);

      const repeated = by("repeated");
      assert.deepEqual(texts(await itemsOf(store, repeated.sessionId)), ["one", "two", "three"]);
      assert.equal(repeated.forks.length, 0);
      assert.deepEqual(
        repeated.warnings.map((w) => w.message),
        [
          "line 3 repeats line 1 exactly (entry 'a'); imported once",
          "line 4 repeats line 2 exactly (entry 'b'); imported once",
        ],
      );
      assert.equal(report.totals.warnings.duplicate_entry_id, 4);
      // The audit names the same warnings without importing.
      await assertAuditWarnsAsImport(fx.dir, report);

      const again = await importStateDir(store, fx.dir);
      assert.equal(again.totals.unchanged, 3);
      assert.equal(again.totals.itemsWritten, 0);
      assert.equal(
        again.sessions.find((s) => s.sessionId === importedSessionId("main", "chain"))!.warnings.length,
        1,
      );
    } finally {
      await store.close();
      fx.cleanup();
    }
  });
});
