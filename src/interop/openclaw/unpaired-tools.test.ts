/**
 * Tool calls without results and results without calls on a transcript's active path (a crash
 * mid-tool, a result re-parented onto a retry branch). Imported as they were, the store's window
 * started after the orphan result (everything before it was never sent again) and the gateway
 * refused every turn of the conversation over the unanswered call.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildWindowIndex } from "../../engine/context/window-index.ts";
import { createStore } from "../../store/create-store.ts";
import type { Item } from "../../store/types.ts";
import { sessionItems } from "../portable/export.ts";
import { importStateDir } from "./import.ts";
import { NO_RESULT_TEXT } from "./tool-pairing.ts";

const line = (id: string, parentId: string | null, message: object): string =>
  JSON.stringify({ type: "message", id, parentId, timestamp: "2026-01-01T00:00:00Z", message });
const user = (text: string): object => ({ role: "user", content: text });
const calls = (...ids: string[]): object => ({
  role: "assistant",
  content: ids.map((id) => ({ type: "toolCall", id, name: "read", arguments: { path: id } })),
});
const result = (callId: string, text: string): object => ({
  role: "toolResult",
  toolCallId: callId,
  toolName: "read",
  content: [{ type: "text", text }],
});

function stateDir(transcript: string[]): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "oc-unpaired-"));
  const sessions = join(dir, "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  writeFileSync(join(sessions, "sessions.json"), JSON.stringify({ "agent:main:main": { sessionId: "s1" } }));
  writeFileSync(
    join(sessions, "s1.jsonl"),
    `${[JSON.stringify({ type: "session", version: 3, id: "s1", timestamp: "t", cwd: "/" }), ...transcript].join("\n")}\n`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("openclaw import of unpaired tool calls and results", () => {
  it("answers a call the conversation moved on from, keeps an orphan result as text, and the window loses nothing", async () => {
    const fx = stateDir([
      line("u1", null, user("look at a and b")),
      line("a1", "u1", calls("ka", "kb")),
      line("r1", "a1", result("ka", "contents of a")), // kb is never answered
      line("u2", "r1", user("and now?")),
      line("r2", "u2", result("kx", "stray result")), // its call is on another branch
      line("u3", "r2", user("go on")),
      line("a2", "u3", calls("kc")),
      line("r3", "a2", result("ky", "another stray")), // between kc and its result
      line("r4", "r3", result("kc", "contents of c")),
      line("a3", "r4", calls("kd")), // the transcript ends with this call open
    ]);
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      assert.equal(report.totals.created, 1, JSON.stringify(report));
      const id = report.sessions[0]!.sessionId;
      const items: Item[] = [];
      for await (const item of sessionItems(store, "default", id)) items.push(item);
      assert.deepEqual(
        items.map((i) => [i.type, i.content.call_id ?? null]),
        [
          ["message", null],
          ["function_call", "ka"],
          ["function_call", "kb"],
          ["function_call_output", "ka"],
          ["function_call_output", "kb"],
          ["message", null],
          ["message", null],
          ["message", null],
          ["function_call", "kc"],
          ["function_call_output", "kc"],
          ["message", null],
          ["function_call", "kd"],
        ],
      );
      assert.match(JSON.stringify(items[10]!.content), /call_id 'ky'.*another stray/);
      assert.equal(items[4]!.content.output, NO_RESULT_TEXT);
      assert.match(JSON.stringify(items[6]!.content), /call_id 'kx'.*stray result/);
      // Only the call that ends the transcript awaits its output (the next turn may send it).
      const index = buildWindowIndex(items);
      assert.equal(index.excludedCount, 1);
      assert.equal(items[index.roles.indexOf(2)]!.content.call_id, "kd");
      // The store's window starts at the first item, not after a stray result.
      const window = await store.readWindow("default", id, { maxTokens: 1_000_000 });
      assert.equal(window.fromSeq, 1);
      assert.equal(window.truncated, false);
      // A re-import finds the same items.
      assert.equal((await importStateDir(store, fx.dir)).totals.unchanged, 1);
    } finally {
      await store.close();
      fx.cleanup();
    }
  });
});
