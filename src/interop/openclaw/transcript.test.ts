import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { convertPath } from "./convert.ts";
import { parseTranscriptFile, parseTranscriptText } from "./transcript.ts";
import { analyzeTranscript } from "./tree.ts";

const header = (v?: number): string =>
  JSON.stringify({
    type: "session",
    ...(v ? { version: v } : {}),
    id: "s",
    timestamp: "2026-01-01T00:00:00Z",
    cwd: "/",
  });
const msg = (id: string, parentId: string | null, message: object): string =>
  JSON.stringify({ type: "message", id, parentId, timestamp: "2026-01-01T00:00:00Z", message });
const user = (text: string): object => ({ role: "user", content: text });
const call = (callId: string): object => ({
  role: "assistant",
  content: [{ type: "toolCall", id: callId, name: "f", arguments: { a: 1 } }],
});
const result = (callId: string): object => ({
  role: "toolResult",
  toolCallId: callId,
  content: [{ type: "text", text: "ok" }],
});

describe("transcript parsing", () => {
  it("skips torn lines anywhere, accepts CRLF and blank lines", async () => {
    const text = [
      header(3),
      msg("a", null, user("hi")),
      '{"type":"message","id":"b",',
      "",
      `${msg("c", "a", user("x"))}\r`,
      '{"trunc',
    ].join("\n");
    const t = await parseTranscriptText(text);
    assert.equal(t.formatVersion, 3);
    assert.deepEqual(t.tornLines, [2, 5]);
    assert.deepEqual(
      t.entries.map((e) => e.id),
      ["a", "c"],
    );
  });

  it("reads the header behind a byte order mark, blank lines or CRLF (it was torn and the file read as v1)", async () => {
    const texts = {
      bom: `\uFEFF${header(3)}\n${msg("a", null, user("hi"))}\n`,
      blankFirst: `\n\n${header(3)}\n${msg("a", null, user("hi"))}\n`,
      crlf: `\r\n${header(3)}\r\n${msg("a", null, user("hi"))}\r\n`,
      bomCrlf: `\uFEFF${header(3)}\r\n${msg("a", null, user("hi"))}`,
    };
    for (const [name, text] of Object.entries(texts)) {
      const t = await parseTranscriptText(text);
      assert.equal(t.formatVersion, 3, name);
      assert.equal(t.header?.id, "s", name);
      assert.deepEqual(t.tornLines, [], name);
      assert.deepEqual(
        t.entries.map((e) => e.id),
        ["a"],
        name,
      );
    }
  });

  it("reads a BOM-prefixed header from a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oc-bom-"));
    const file = join(dir, "s.jsonl");
    writeFileSync(file, `\uFEFF${header(2)}\n${msg("a", null, user("hi"))}\n`);
    const t = await parseTranscriptFile(file, { strictUtf8: true });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(t.formatVersion, 2);
    assert.deepEqual(t.tornLines, []);
  });

  it("resolves a v1 firstKeptEntryIndex the way pi counted, past blank and torn lines", async () => {
    const v1 = (m: object): string => JSON.stringify({ type: "message", timestamp: "t", message: m });
    const t = await parseTranscriptText(
      [
        "",
        header(),
        v1(user("a")),
        '{"torn',
        v1(user("b")),
        // pi's loader index: header 0, a 1, b 2, compaction 3 — keeps "b".
        JSON.stringify({ type: "compaction", summary: "S", firstKeptEntryIndex: 2 }),
        v1(user("c")),
      ].join("\n"),
    );
    assert.equal(t.header?.type, "session");
    const items = convertPath(analyzeTranscript(t).path).items;
    assert.deepEqual(
      items.map((i) => i.content.type),
      ["message", "message", "summary", "message"],
    );
    // The summary covers "a" only; "b" is kept.
    assert.deepEqual((items[2]!.content as { covers: object }).covers, { fromSeq: 1, toSeq: 1 });
  });

  it("keeps U+2028 inside a line (no readline splitting)", async () => {
    const t = await parseTranscriptText(`${header(3)}\n${msg("a", null, user("a\u2028b\u2029c"))}\n`);
    assert.equal(t.tornLines.length, 0);
    assert.equal(t.entries.length, 1);
  });

  it("numbers v1 entries by line and chains them", async () => {
    const v1 = (m: object): string => JSON.stringify({ type: "message", timestamp: "t", message: m });
    const t = await parseTranscriptText(
      [
        header(),
        v1(user("a")),
        v1(user("b")),
        JSON.stringify({ type: "compaction", summary: "S", firstKeptEntryIndex: 2 }),
        v1(user("c")),
      ].join("\n"),
    );
    assert.equal(t.formatVersion, 1);
    const a = analyzeTranscript(t);
    assert.deepEqual(
      a.path.map((e) => e.id),
      ["1", "2", "3", "4"],
    );
    assert.equal(a.contextMessageCount, 3); // summary + line 2 + line 4
    const items = convertPath(a.path).items;
    assert.deepEqual(
      items.map((i) => i.content.type),
      ["message", "message", "summary", "message"],
    );
    assert.deepEqual((items[2]!.content as { covers: object }).covers, { fromSeq: 1, toSeq: 1 });
  });

  it("follows the last entry's ancestors and pairs tool calls on that path only", async () => {
    const t = await parseTranscriptText(
      [
        header(3),
        msg("r", null, user("go")),
        msg("c1", "r", call("k1")),
        msg("c2", "r", call("k2")), // retry on a sibling branch
        msg("x1", "c2", result("k1")), // result of the abandoned call, on the active path
        msg("u", "x1", call("k3")), // never answered
      ].join("\n"),
    );
    const a = analyzeTranscript(t);
    assert.deepEqual(
      a.path.map((e) => e.id),
      ["r", "c2", "x1", "u"],
    );
    assert.equal(a.hasBranches, true);
    assert.deepEqual(
      a.otherLeaves.map((e) => e.id),
      ["c1"],
    );
    assert.deepEqual(a.orphanToolResultIds, ["k1"]);
    assert.deepEqual(a.unansweredToolCallIds, ["k2", "k3"]);
  });

  it("survives a parent cycle and a dangling parent", async () => {
    const t = await parseTranscriptText(
      [header(3), msg("a", "b", user("1")), msg("b", "a", user("2"))].join("\n"),
    );
    assert.deepEqual(
      analyzeTranscript(t).path.map((e) => e.id),
      ["a", "b"],
    );
    const d = await parseTranscriptText([header(2), msg("a", "zzz", user("1"))].join("\n"));
    assert.deepEqual(
      analyzeTranscript(d).path.map((e) => e.id),
      ["a"],
    );
    assert.equal(d.formatVersion, 2);
  });

  it("converts assistant blocks to reasoning, message and function_call items in order", async () => {
    const t = await parseTranscriptText(
      [
        header(3),
        msg("a", null, {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm" },
            { type: "text", text: "one" },
            { type: "text", text: "two" },
            { type: "toolCall", id: "k", name: "f", arguments: { q: "x" } },
          ],
        }),
        msg("b", "a", {
          role: "toolResult",
          toolCallId: "k",
          content: [
            { type: "text", text: "r" },
            { type: "image", data: "AAA", mimeType: "image/png" },
          ],
        }),
      ].join("\n"),
    );
    const items = convertPath(analyzeTranscript(t).path).items;
    assert.deepEqual(
      items.map((i) => [i.id, i.content.type, i.turnId ?? null]),
      [
        ["oc_a_0", "reasoning", "oc:a"],
        ["oc_a_1", "message", "oc:a"],
        ["oc_a_2", "function_call", "oc:a"],
        ["oc_b_0", "function_call_output", null],
      ],
    );
    assert.equal((items[1]!.content.content as unknown[]).length, 2);
    assert.equal(items[2]!.content.arguments, '{"q":"x"}');
    assert.deepEqual(items[3]!.content.output, [
      { type: "input_text", text: "r" },
      { type: "input_image", image_url: "data:image/png;base64,AAA", detail: "auto" },
    ]);
  });
});
