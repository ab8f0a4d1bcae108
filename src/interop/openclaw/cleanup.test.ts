import assert from "node:assert/strict";
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { auditStateDir } from "./audit.ts";
import { applyCleanup, DEFAULT_CLEANUP, planCleanup } from "./cleanup.ts";
import { copyFixture, type Expected, type ExpectedFile } from "./test-fixture.ts";

const DAY = 86_400_000;

describe("openclaw cleanup (fixture)", () => {
  let fx: { dir: string; expected: Expected; cleanup: () => void };
  let now: Date;
  beforeEach(() => {
    fx = copyFixture();
    now = new Date(fx.expected.referenceDate);
  });
  afterEach(() => fx.cleanup());

  function expectedFiles(pred: (f: ExpectedFile) => boolean): string[] {
    const out: string[] = [];
    for (const agent of Object.values(fx.expected.agents) as Expected[]) {
      for (const f of agent.files as ExpectedFile[]) if (pred(f)) out.push(`${agent.sessionsDir}/${f.name}`);
    }
    return out.sort();
  }

  it("plans old debris, old archives and stale locks by default, never live transcripts", () => {
    const plan = planCleanup(fx.dir, { ...DEFAULT_CLEANUP, now });
    const want = expectedFiles(
      (f) =>
        (f.olderThan30Days &&
          ["tmp", "bak", "storeBackup", "resetArchive", "deletedArchive"].includes(f.class)) ||
        f.class === "lock",
    );
    assert.deepEqual(plan.actions.map((a) => a.file).sort(), want);
    assert.ok(plan.actions.every((a) => a.class !== "liveTranscript" && a.class !== "index"));
    assert.equal(plan.totals.files, want.length);
    assert.ok(plan.actions.every((a) => a.reason.length > 0 && a.bytes > 0));
  });

  it("enforce does exactly what the dry run listed", async () => {
    const options = { ...DEFAULT_CLEANUP, orphans: true, now };
    const plan = planCleanup(fx.dir, options);
    const before = await auditStateDir(fx.dir, { now });
    const result = applyCleanup(plan);
    assert.deepEqual(result.done.map((a) => a.file).sort(), plan.actions.map((a) => a.file).sort());
    assert.equal(result.bytesFreed, plan.totals.bytes);
    for (const a of plan.actions) assert.equal(existsSync(join(fx.dir, a.file)), false);
    const afterAudit = await auditStateDir(fx.dir, { now });
    assert.equal(afterAudit.totals.files, before.totals.files - plan.totals.files);
    assert.deepEqual(afterAudit.agents.main!.entries, before.agents.main!.entries);
    assert.equal(planCleanup(fx.dir, options).actions.length, 0);
  });

  it("skips files that changed after the plan", () => {
    const plan = planCleanup(fx.dir, { archivesOlderThanMs: 30 * DAY, now });
    const first = plan.actions[0]!;
    const path = join(fx.dir, first.file);
    appendFileSync(path, "x");
    const result = applyCleanup(plan);
    assert.equal(result.skipped.length, 1);
    assert.equal(existsSync(path), true);
  });

  it("removes live transcripts only when asked, with their index entries", async () => {
    assert.ok(
      planCleanup(fx.dir, { olderThanMs: 30 * DAY, now }).actions.every((a) => a.class !== "liveTranscript"),
    );
    const plan = planCleanup(fx.dir, { olderThanMs: 30 * DAY, includeLive: true, now });
    const live = plan.actions.filter((a) => a.class === "liveTranscript");
    assert.deepEqual(
      live.map((a) => a.file).sort(),
      expectedFiles((f) => f.class === "liveTranscript" && f.olderThan30Days),
    );
    applyCleanup(plan);
    const audit = await auditStateDir(fx.dir, { now });
    assert.equal(audit.totals.entriesMissingTranscript, 1);
    assert.equal(audit.totals.entries, fx.expected.totals.entries - live.length);
  });
});
