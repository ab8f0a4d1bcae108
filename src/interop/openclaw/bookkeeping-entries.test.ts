/**
 * Entries that are not conversation: pi's `label` bookmarks, `model_change`, OpenClaw's and
 * extensions' `custom` entries, types Holdfast does not know. The docs said they were "kept in
 * state", but labels and the model were in no state, and custom or unknown entries went without
 * a word. Labels and the current model are now in state (and an export writes the labels again);
 * what stays behind is a `not_imported` warning per kind.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { exportTranscript } from "./export.ts";
import { importStateDir } from "./import.ts";
import { transcriptLabels } from "./session-meta.ts";
import { assertAuditWarnsAsImport, writeStateDir } from "./test-fixture.ts";
import { parseTranscriptText } from "./transcript.ts";

const entry = (id: string, parentId: string | null, fields: object): string =>
  JSON.stringify({ id, parentId, timestamp: "2026-01-01T00:00:00Z", ...fields });
const message = (id: string, parentId: string | null, m: object): string =>
  entry(id, parentId, { type: "message", message: m });
const cacheTtl = (id: string, parentId: string): string =>
  entry(id, parentId, { type: "custom", customType: "openclaw.cache-ttl", data: { timestamp: 1 } });
const label = (id: string, parentId: string, targetId: string, text?: string): string =>
  entry(id, parentId, { type: "label", targetId, label: text });

// Lines 1… after the header (line 0).
const TRANSCRIPT = [
  message("a", null, { role: "user", content: "first" }),
  message("b", "a", {
    role: "assistant",
    content: [{ type: "text", text: "one" }],
    provider: "anthropic",
    model: "claude",
  }),
  cacheTtl("c", "b"),
  entry("d", "c", { type: "model_change", provider: "openai", modelId: "gpt-4o" }),
  message("e", "d", { role: "user", content: "second" }),
  cacheTtl("f", "e"),
  label("g", "f", "a", "start"),
  label("h", "g", "b", "answer"),
  label("i", "h", "b"),
  label("j", "i", "e", "question"),
  entry("k", "j", { type: "custom", customType: "model-snapshot", data: { provider: "openai" } }),
  entry("l", "k", { type: "mode_change", mode: "plan" }),
];

describe("openclaw bookkeeping entries", () => {
  it("keeps labels and the current model in state, names what it leaves behind, and exports the labels again", async () => {
    const fx = writeStateDir({ s: TRANSCRIPT });
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      const [session] = report.sessions;
      assert.equal(session?.status, "created");
      assert.deepEqual(
        session.warnings.map((w) => [w.code, w.entryId, w.line, w.message]),
        [
          [
            "not_imported",
            "c",
            3,
            "2 'custom' entries of customType 'openclaw.cache-ttl' (extension state, not model context) not imported, left in the transcript; the first at line 3",
          ],
          [
            "not_imported",
            "k",
            11,
            "1 'custom' entry of customType 'model-snapshot' (extension state, not model context) not imported, left in the transcript; the first at line 11",
          ],
          [
            "not_imported",
            "l",
            12,
            "1 entry of type 'mode_change', which Holdfast does not know, not imported, left in the transcript; the first at line 12",
          ],
        ],
      );
      assert.equal(report.totals.warnings.not_imported, 3);
      // The audit names the same warnings without importing.
      await assertAuditWarnsAsImport(fx.dir, report);

      const state = (await store.get("default", session.sessionId)).state.openclaw as Record<string, unknown>;
      // pi's resolved labels: the one on `b` was cleared by a later label entry without a label.
      assert.deepEqual(state.labels, { a: "start", e: "question" });
      // What pi would run the next turn with: the model_change after the last assistant message.
      assert.deepEqual(state.model, { provider: "openai", modelId: "gpt-4o" });

      // The export writes the labels again, at the end, on the entries holding their targets' items.
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      await exportTranscript(store, "default", session.sessionId, out);
      const exported = await parseTranscriptText(Buffer.concat(chunks).toString("utf8"));
      const textOf = (id: string): unknown => {
        const m = exported.entries.find((e) => e.id === id)?.data.message as { content: { text: string }[] };
        return m.content[0]?.text;
      };
      const labels = transcriptLabels(exported);
      assert.deepEqual(
        Object.entries(labels).map(([id, text]) => [textOf(id), text]),
        [
          ["first", "start"],
          ["second", "question"],
        ],
      );
      assert.deepEqual(
        exported.entries.slice(-2).map((e) => e.type),
        ["label", "label"],
      );
      // Still one chain: the labels hang below the last message, as pi appends them.
      for (const [k, e] of exported.entries.entries())
        assert.equal(e.parentId, k === 0 ? null : exported.entries[k - 1]!.id);
    } finally {
      await store.close();
      fx.cleanup();
    }
  });
});
