/**
 * Messages of roles Holdfast does not know, and content blocks of types it cannot carry. They used
 * to become empty messages (or lose blocks) with nothing in the report; now each is skipped or left
 * out with a named warning, and only a message that was empty in the transcript stays empty.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { Item } from "../../store/types.ts";
import { sessionItems } from "../portable/export.ts";
import { importStateDir } from "./import.ts";
import { assertAuditWarnsAsImport, writeStateDir } from "./test-fixture.ts";

const entry = (id: string, parentId: string | null, fields: object): string =>
  JSON.stringify({ id, parentId, timestamp: "2026-01-01T00:00:00Z", ...fields });
const message = (id: string, parentId: string | null, m: object): string =>
  entry(id, parentId, { type: "message", message: m });

const TRANSCRIPT = [
  message("u1", null, {
    role: "user",
    content: [
      { type: "text", text: "listen" },
      { type: "audio", data: "AAAA" },
    ],
  }),
  message("u2", "u1", { role: "user", content: [{ type: "audio", data: "BBBB" }] }),
  message("a1", "u2", { role: "assistant", content: [{ type: "redacted_thinking", data: "x" }] }),
  message("a2", "a1", { role: "assistant", content: [], stopReason: "stop" }),
  message("n1", "a2", { role: "notification", text: "battery low" }),
  message("b1", "n1", { role: "bashExecution", command: "ls", output: "a.txt", exitCode: 0 }),
  message("b2", "b1", {
    role: "bashExecution",
    command: "env",
    output: "SECRET=1",
    excludeFromContext: true,
  }),
  entry("c1", "b2", {
    type: "custom_message",
    customType: "x",
    content: [{ type: "video" }],
    display: false,
  }),
  message("t0", "c1", {
    role: "assistant",
    content: [{ type: "toolCall", id: "k1", name: "read", arguments: {} }],
  }),
  message("t1", "t0", {
    role: "toolResult",
    toolCallId: "k1",
    content: [{ type: "text", text: "done" }, { type: "file", name: "a.pdf" }, { type: "text" }],
  }),
  message("u3", "t1", { role: "user", content: "first branch" }),
  message("u4", "t1", { role: "user", content: "second branch" }),
];

async function itemsOf(store: Awaited<ReturnType<typeof createStore>>, id: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of sessionItems(store, "default", id)) out.push(item);
  return out;
}

describe("openclaw import of unknown roles and content types", () => {
  it("skips or trims them with a named warning each and never stores an empty message for them", async () => {
    const fx = writeStateDir({ s: TRANSCRIPT });
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      const [s] = report.sessions;
      assert.equal(s!.status, "created");
      const items = await itemsOf(store, s!.sessionId);
      // Entries that became items: the skipped ones (u2, a1, n1, b2, c1) are absent.
      assert.deepEqual(
        [...new Set(items.map((i) => i.id.replace(/^oc_(.+)_\d+$/, "$1")))],
        ["u1", "a2", "b1", "t0", "t1", "u4"],
      );
      const byEntry = (id: string) => items.find((i) => i.id === `oc_${id}_0`)!.content;
      assert.deepEqual(byEntry("u1").content, [{ type: "input_text", text: "listen" }]);
      // The assistant turn that was empty in the transcript stays, as it was.
      assert.deepEqual(byEntry("a2").content, []);
      assert.deepEqual(byEntry("b1").content, [{ type: "input_text", text: "Ran `ls`\n```\na.txt\n```" }]);
      assert.equal(byEntry("t1").output, "done");

      assert.deepEqual(
        s!.warnings.map((w) => [w.entryId, w.line, w.code, w.message]),
        [
          ["u1", 1, "unknown_content", "content left out of the message: 'audio'"],
          [
            "u2",
            2,
            "unknown_content",
            "message skipped: it held only content Holdfast cannot carry ('audio')",
          ],
          [
            "a1",
            3,
            "unknown_content",
            "message skipped: it held only content Holdfast cannot carry ('redacted_thinking')",
          ],
          ["n1", 5, "unknown_role", "role 'notification' is not one Holdfast knows: message skipped"],
          [
            "b2",
            7,
            "excluded_from_context",
            "a '!!' command's output, which pi keeps out of the model's context: skipped",
          ],
          [
            "c1",
            8,
            "unknown_content",
            "message skipped: it held only content Holdfast cannot carry ('video')",
          ],
          ["t1", 10, "unknown_content", "content left out of the message: 'file', 'text' without its data"],
        ],
      );
      // The fork (the first branch) converts the same prefix again: its warnings are not doubled.
      assert.equal(s!.forks.length, 1);
      assert.deepEqual(report.totals.warnings, {
        duplicate_entry_id: 0,
        unknown_role: 1,
        unknown_content: 5,
        excluded_from_context: 1,
        not_imported: 0,
      });
      // The audit names the same warnings without importing.
      await assertAuditWarnsAsImport(fx.dir, report);
    } finally {
      await store.close();
      fx.cleanup();
    }
  });
});
