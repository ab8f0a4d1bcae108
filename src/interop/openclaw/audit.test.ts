import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { auditStateDir } from "./audit.ts";
import { copyFixture, damageTranscripts, type Expected } from "./test-fixture.ts";

const ENTRY_FIELDS = [
  "sessionId",
  "keyKind",
  "updatedAt",
  "transcript",
  "formatVersion",
  "totalEntries",
  "tornLines",
  "activePathIds",
  "contextMessageCount",
  "toolCallsOnPath",
  "toolResultsOnPath",
  "orphanToolResultsOnPath",
  "compactionsOnPath",
  "hasBranches",
] as const;

describe("openclaw audit (fixture)", () => {
  let fx: { dir: string; expected: Expected; cleanup: () => void };
  before(() => {
    fx = copyFixture();
  });
  after(() => fx.cleanup());

  it("matches EXPECTED.json for every entry, artifact class, lock and file", async () => {
    const report = await auditStateDir(fx.dir, { now: new Date(fx.expected.referenceDate) });
    assert.deepEqual(Object.keys(report.agents).sort(), Object.keys(fx.expected.agents).sort());
    assert.equal(report.totals.agents, fx.expected.totals.agents);
    assert.equal(report.totals.entries, fx.expected.totals.entries);
    assert.equal(report.totals.files, fx.expected.totals.files);
    assert.equal(report.totals.bytes, fx.expected.totals.bytes);
    for (const [agentId, exp] of Object.entries(fx.expected.agents) as [string, Expected][]) {
      const got = report.agents[agentId]!;
      assert.equal(got.sessionsDir, exp.sessionsDir);
      assert.deepEqual(Object.keys(got.entries).sort(), Object.keys(exp.entries).sort(), agentId);
      for (const [key, e] of Object.entries(exp.entries) as [string, Expected][]) {
        const g = got.entries[key]!;
        for (const field of ENTRY_FIELDS) assert.deepEqual(g[field], e[field], `${agentId} ${key} ${field}`);
      }
      assert.deepEqual(got.audit.artifacts, exp.audit.artifacts, `${agentId} artifacts`);
      assert.deepEqual(got.audit.staleLocks, exp.audit.staleLocks, `${agentId} staleLocks`);
      assert.deepEqual(got.audit.entriesMissingTranscript, exp.audit.entriesMissingTranscript);
      assert.deepEqual(got.files, exp.files, `${agentId} files`);
    }
    assert.equal(report.totals.tornLines, 1);
    assert.equal(report.totals.orphanToolResults, 1);
  });

  it("measures ages against the reference date", async () => {
    const early = await auditStateDir(fx.dir, { now: new Date("2026-10-22T20:40:00Z") });
    assert.equal(early.agents.main!.audit.staleLocks.length, 0);
    assert.equal(early.agents.main!.audit.liveLocks.length, 1);
    const late = await auditStateDir(fx.dir, { now: new Date("2027-06-01T00:00:00Z") });
    for (const agent of Object.values(late.agents))
      for (const f of agent.files) assert.equal(f.olderThan30Days, true);
  });
});

describe("openclaw audit (unreadable transcripts)", () => {
  it("reports each unreadable transcript as an entry with a problem and audits the rest", async () => {
    const fx = copyFixture();
    try {
      // A directory and a transcript that is not UTF-8 (an import fails it, so the audit names it).
      const transcripts = damageTranscripts(fx);
      const [dir, binary] = transcripts;

      const report = await auditStateDir(fx.dir, { now: new Date(fx.expected.referenceDate) });
      const entry = (k: { agentId: string; key: string }) => report.agents[k.agentId]!.entries[k.key]!;
      assert.match(entry(dir!).problem ?? "", /^transcript .+ could not be read: EISDIR/);
      assert.match(entry(binary!).problem ?? "", /could not be read: not valid UTF-8/);
      for (const k of [dir!, binary!]) {
        assert.equal(entry(k).transcript, fx.expected.agents[k.agentId].entries[k.key].transcript);
        assert.equal(entry(k).totalEntries, 0);
        assert.ok(report.agents[k.agentId]!.audit.entriesUnreadableTranscript.includes(k.key));
      }
      assert.equal(report.totals.entriesUnreadableTranscript, 2);
      assert.equal(report.totals.entries, fx.expected.totals.entries, "every entry is reported");
      // The others are audited as before.
      for (const k of transcripts.slice(2)) {
        const e = fx.expected.agents[k.agentId].entries[k.key];
        assert.equal(entry(k).problem, null);
        assert.equal(entry(k).totalEntries, e.totalEntries, k.key);
      }
    } finally {
      fx.cleanup();
    }
  });
});
