import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import type { JsonObject } from "../../store/types.ts";
import { auditStateDir } from "./audit.ts";
import { fitContent } from "./fit.ts";
import { importStateDir } from "./import.ts";

const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

describe("oversized OpenClaw items", () => {
  it("fitContent drops images first, then cuts the longest strings, marking both", () => {
    const small = { type: "message", content: "hi" };
    assert.equal(fitContent(small, 100).content, small);
    const big: JsonObject = {
      type: "function_call_output",
      call_id: "k",
      output: [
        { type: "input_text", text: "é".repeat(300_000) },
        { type: "input_image", image_url: `data:image/png;base64,${"A".repeat(500_000)}` },
      ],
    };
    const fitted = fitContent(big, 200_000);
    assert.ok(size(fitted.content) <= 200_000);
    assert.ok(fitted.cutBytes > 0);
    const text = JSON.stringify(fitted.content);
    assert.match(text, /image omitted by holdfast import/);
    assert.match(text, /truncated by holdfast import/);
    const parts = big.output as JsonObject[];
    assert.equal(parts[1]!.type, "input_image"); // input not mutated
  });

  it("imports a session with multi-megabyte tool output and image; damaged index reported", async () => {
    const root = mkdtempSync(join(tmpdir(), "holdfast-oc-fit-"));
    try {
      const dir = join(root, "agents", "a", "sessions");
      mkdirSync(dir, { recursive: true });
      mkdirSync(join(root, "agents", "b", "sessions"), { recursive: true });
      writeFileSync(join(root, "agents", "b", "sessions", "sessions.json"), "");
      const lines = [
        { type: "session", version: 3, id: "s1", timestamp: "2026-01-01T00:00:00Z", cwd: "/" },
        {
          type: "message",
          id: "u",
          parentId: null,
          timestamp: "t",
          message: {
            role: "user",
            content: [{ type: "image", data: "B".repeat(2_000_000), mimeType: "image/png" }],
          },
        },
        {
          type: "message",
          id: "c",
          parentId: "u",
          timestamp: "t",
          message: {
            role: "assistant",
            content: [{ type: "toolCall", id: "k", name: "read", arguments: {} }],
          },
        },
        {
          type: "message",
          id: "r",
          parentId: "c",
          timestamp: "t",
          message: {
            role: "toolResult",
            toolCallId: "k",
            content: [{ type: "text", text: "x".repeat(3_000_000) }],
          },
        },
      ];
      writeFileSync(join(dir, "s1.jsonl"), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
      writeFileSync(
        join(dir, "sessions.json"),
        JSON.stringify({ "agent:a:main": { sessionId: "s1", sessionFile: "s1.jsonl" } }),
      );
      const store = await createStore("memory:");
      const report = await importStateDir(store, root);
      assert.equal(report.totals.created, 1);
      assert.equal(report.totals.truncatedItems, 2);
      const items = await store.readItems("default", report.sessions[0]!.sessionId);
      assert.equal(items.length, 3);
      for (const item of items) assert.ok(item.bytes <= 1 << 20);
      const audit = await auditStateDir(root);
      assert.match(audit.agents.b!.indexError ?? "", /empty/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
