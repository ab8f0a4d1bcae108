import assert from "node:assert/strict";
import { test } from "node:test";
import { leftOutLine, reportText } from "./migrate-report.ts";

test("migrate's text report counts and names the sessions deleted or expired while being copied", () => {
  const text = reportText({
    tenants: 1,
    sessions: 1,
    skipped: 0,
    items: 2,
    mismatches: [],
    expired: [{ tenant: "t", sessionId: "conv_a" }],
    vanished: [{ tenant: "t", sessionId: "conv_b", gone: "source" }],
    deletedInSource: [],
  });
  assert.equal(
    text,
    [
      "migrated 1 sessions (0 already complete) and 2 items across 1 tenant(s); left out 1 already expired; left out 1 deleted or expired while being copied; verified: all equal",
      leftOutLine("t", "conv_a", "expired"),
      "left out t/conv_b: deleted or expired while its items were copied; its partial copy was removed",
      "",
    ].join("\n"),
  );
});

test("migrate's text report names the items the source deleted after they were copied, not as a mismatch", () => {
  const text = reportText({
    tenants: 1,
    sessions: 1,
    skipped: 0,
    items: 3,
    mismatches: [],
    expired: [],
    vanished: [],
    deletedInSource: [{ tenant: "t", sessionId: "conv_a", itemIds: ["msg_1", "msg_2"] }],
  });
  assert.equal(
    text,
    [
      "migrated 1 sessions (0 already complete) and 3 items across 1 tenant(s); 2 item(s) deleted in the source after being copied, removed from the copy; verified: all equal",
      "deleted in the source t/conv_a: msg_1, msg_2 (after being copied; removed from the copy too)",
      "",
    ].join("\n"),
  );
});
