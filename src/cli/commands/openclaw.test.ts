/**
 * Runs the real `holdfast` binary against a copy of the OpenClaw fixture and a SQLite store.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { convertPath } from "../../interop/openclaw/convert.ts";
import { importedSessionId } from "../../interop/openclaw/session-meta.ts";
import { copyFixture, type Expected, writeStateDir } from "../../interop/openclaw/test-fixture.ts";
import { parseTranscriptText } from "../../interop/openclaw/transcript.ts";
import { activePath } from "../../interop/openclaw/tree.ts";
import { createStore } from "../../store/create-store.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
const NODE = process.execPath; // the Node running the tests (see cli-helpers.ts)
const BIN = join(ROOT, "bin/holdfast.js");
const NOW = "2026-11-01T00:00:00Z";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function holdfast(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(NODE, [BIN, ...args], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("holdfast openclaw (binary)", () => {
  let fx: { dir: string; expected: Expected; cleanup: () => void };
  let store: string;
  before(() => {
    fx = copyFixture();
    store = `sqlite:${join(fx.dir, "..", "holdfast.db")}`;
  });
  after(() => fx.cleanup());

  it("--now takes an ISO 8601 timestamp or epoch ms; a loose date string exits 2 naming --now", async () => {
    const epoch = await holdfast("openclaw", "audit", fx.dir, "--json", "--now", String(Date.parse(NOW)));
    assert.equal(epoch.code, 0, epoch.stderr);
    assert.equal(JSON.parse(epoch.stdout).referenceDate, new Date(NOW).toISOString());
    for (const args of [
      ["audit", fx.dir, "--now", "5"],
      ["cleanup", fx.dir, "--dry-run", "--now", "Nov 1 2026"],
    ]) {
      const run = await holdfast("openclaw", ...args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(
        run.stderr,
        /^holdfast: --now must be an ISO 8601 timestamp such as 2026-11-21T10:00:00Z /,
      );
    }
  });

  it("import reports unreadable transcripts as failed sessions, imports the rest and exits 1", async () => {
    const own = copyFixture();
    try {
      // Directories where the research agent's transcripts should be.
      const research = join(own.dir, "agents", "research", "sessions");
      const names = readdirSync(research).filter((f) => f.endsWith(".jsonl"));
      for (const name of names) {
        rmSync(join(research, name));
        mkdirSync(join(research, name));
      }
      const db = `sqlite:${join(own.dir, "..", "unreadable.db")}`;
      const run = await holdfast("openclaw", "import", own.dir, "--store", db, "--json");
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr, "");
      const report = JSON.parse(run.stdout);
      const failed = report.sessions.filter((s: { status: string }) => s.status === "failed");
      assert.ok(failed.length > 0);
      assert.equal(report.totals.failed, failed.length);
      for (const f of failed) {
        assert.equal(f.agentId, "research");
        assert.match(f.note, /^transcript .+\.jsonl could not be read: EISDIR/);
      }
      assert.equal(report.totals.created, 11 - failed.length);
      const table = await holdfast("openclaw", "import", own.dir, "--store", db);
      assert.equal(table.code, 1, table.stderr);
      assert.match(table.stdout, new RegExp(`${failed.length} failed, 0 problem\\(s\\);`));
      assert.match(table.stdout, /\n {2}failed agent:research:main: transcript .+ could not be read: EISDIR/);
      // The audit reads on past them too, naming each with its problem (and still exits 0).
      const audit = await holdfast("openclaw", "audit", own.dir, "--json", "--now", NOW);
      assert.equal(audit.code, 0, audit.stderr);
      const audited = JSON.parse(audit.stdout).agents.research;
      assert.equal(audited.audit.entriesUnreadableTranscript.length, failed.length);
      for (const key of audited.audit.entriesUnreadableTranscript)
        assert.match(audited.entries[key].problem, /could not be read: EISDIR/);
      const auditTable = await holdfast("openclaw", "audit", own.dir, "--now", NOW);
      assert.equal(auditTable.code, 0, auditTable.stderr);
      assert.match(
        auditTable.stdout,
        /\n {2}unreadable agent:research:main: transcript .+ could not be read: EISDIR/,
      );
      assert.match(auditTable.stdout, new RegExp(`${failed.length} unreadable,`));
      const s = await createStore(db);
      try {
        assert.equal(
          (await s.list("default", { limit: 100 })).data.length,
          report.totals.created + report.totals.forks,
        );
      } finally {
        await s.close();
      }
    } finally {
      own.cleanup();
    }
  });

  it("import names an entry id used twice as a warning, in the table and in --json, and exits 0", async () => {
    const entry = (id: string, parentId: string | null, text: string): string =>
      JSON.stringify({
        type: "message",
        id,
        parentId,
        timestamp: "t",
        message: { role: "user", content: text },
      });
    const own = writeStateDir({
      s1: [entry("a", null, "one"), entry("b", "a", "two"), entry("b", "a", "again")],
    });
    try {
      const db = `sqlite:${join(own.dir, "dup.db")}`;
      const json = await holdfast("openclaw", "import", own.dir, "--store", db, "--json");
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.equal(report.totals.warnings.duplicate_entry_id, 1);
      assert.equal(report.sessions[0].warnings[0].code, "duplicate_entry_id");
      assert.equal(report.sessions[0].forks.length, 1);
      const table = await holdfast("openclaw", "import", own.dir, "--store", db);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /1 warning\(s\) \(1 duplicate_entry_id\)/);
      assert.match(
        table.stdout,
        /\n {2}warning agent:main:s1: duplicate_entry_id: entry id 'b' at line 3 was already used at line 2; both are imported, this one as 'b~2'/,
      );
    } finally {
      own.cleanup();
    }
  });

  it("import names messages of unknown roles and content it skipped, in the table and in --json, and exits 0", async () => {
    const entry = (id: string, parentId: string | null, message: object): string =>
      JSON.stringify({ type: "message", id, parentId, timestamp: "t", message });
    const own = writeStateDir({
      s1: [
        entry("a", null, { role: "user", content: "hi" }),
        entry("b", "a", { role: "notification", text: "battery low" }),
        entry("c", "b", { role: "user", content: [{ type: "audio", data: "AAAA" }] }),
      ],
    });
    try {
      const db = `sqlite:${join(own.dir, "unknown.db")}`;
      const json = await holdfast("openclaw", "import", own.dir, "--store", db, "--json");
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      assert.equal(report.sessions[0].items, 1);
      assert.deepEqual(
        report.sessions[0].warnings.map((w: { code: string; entryId: string }) => [w.code, w.entryId]),
        [
          ["unknown_role", "b"],
          ["unknown_content", "c"],
        ],
      );
      assert.equal(report.totals.warnings.unknown_role, 1);
      assert.equal(report.totals.warnings.unknown_content, 1);
      const table = await holdfast("openclaw", "import", own.dir, "--store", db);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /2 warning\(s\) \(1 unknown_role, 1 unknown_content\)/);
      assert.match(
        table.stdout,
        /\n {2}warning agent:main:s1: unknown_role: role 'notification' is not one Holdfast knows: message skipped/,
      );
      assert.match(
        table.stdout,
        /\n {2}warning agent:main:s1: unknown_content: message skipped: it held only content Holdfast cannot carry \('audio'\)/,
      );
    } finally {
      own.cleanup();
    }
  });

  it("audit reports the warnings import would give, a branch's too, counted, in the table and in --json", async () => {
    const line = (id: string, parentId: string | null, fields: object): string =>
      JSON.stringify({ id, parentId, timestamp: "t", ...fields });
    const say = (role: string, content: unknown) => ({ role, content });
    // `d` is a branch (a fork on import), `e` the active leaf; `b` is used twice.
    const own = writeStateDir({
      s: [
        line("a", null, { type: "message", message: say("user", "hi") }),
        line("b", "a", { type: "message", message: say("assistant", [{ type: "text", text: "yo" }]) }),
        line("d", "b", { type: "message", message: { role: "notification", text: "battery low" } }),
        line("c", "b", {
          type: "message",
          message: say("user", [
            { type: "audio", data: "AAAA" },
            { type: "text", text: "x" },
          ]),
        }),
        line("b", "c", { type: "message", message: say("user", "again") }),
        line("e", "b", { type: "custom", customType: "openclaw.cache-ttl", data: {} }),
      ],
    });
    try {
      const audit = await holdfast("openclaw", "audit", own.dir, "--json", "--now", NOW);
      assert.equal(audit.code, 0, audit.stderr);
      const got = JSON.parse(audit.stdout);
      const db = `sqlite:${join(own.dir, "warn.db")}`;
      const imported = JSON.parse(
        (await holdfast("openclaw", "import", own.dir, "--store", db, "--json")).stdout,
      );
      assert.equal(imported.sessions[0].forks.length, 1);
      const warnings = imported.sessions[0].warnings;
      assert.deepEqual(
        warnings.map((w: { code: string; entryId: string }) => [w.code, w.entryId]),
        [
          ["unknown_role", "d"],
          ["unknown_content", "c"],
          ["duplicate_entry_id", "b"],
          ["not_imported", "e"],
        ],
      );
      assert.deepEqual(got.agents.main.entries["agent:main:s"].warnings, warnings);
      assert.deepEqual(got.totals.warnings, imported.totals.warnings);
      const table = await holdfast("openclaw", "audit", own.dir, "--now", NOW);
      assert.equal(table.code, 0, table.stderr);
      assert.match(
        table.stdout,
        /\n {2}warning agent:main:s: unknown_role: role 'notification' is not one Holdfast knows: message skipped\n/,
      );
      assert.match(
        table.stdout,
        /4 warning\(s\) \(1 duplicate_entry_id, 1 unknown_role, 1 unknown_content, 1 not_imported\)\n$/,
      );
      // Bookkeeping left out is one line per kind across sessions, not one per session.
      assert.match(
        table.stdout,
        /\n {2}not imported, left in the transcripts \(.*\): .* in 1 session\(s\)\n/,
      );
      assert.doesNotMatch(table.stdout, /warning agent:main:s: not_imported/);
    } finally {
      own.cleanup();
    }
  });

  it("import reports links out of the state dir and missing transcripts, imports the rest and exits 1", async () => {
    const entry = JSON.stringify({
      type: "message",
      id: "a",
      parentId: null,
      message: { role: "user", content: "hi" },
    });
    const own = writeStateDir({ s1: [entry] });
    const outside = mkdtempSync(join(tmpdir(), "holdfast-openclaw-outside-"));
    try {
      writeFileSync(join(outside, "x.jsonl"), `${entry}\n`);
      symlinkSync(join(outside, "x.jsonl"), join(own.sessions, "s2.jsonl"));
      writeFileSync(
        join(own.sessions, "sessions.json"),
        JSON.stringify({
          "agent:main:s1": { sessionId: "s1" },
          "agent:main:s2": { sessionId: "s2" },
          "agent:main:s3": { sessionId: "s3" },
        }),
      );
      symlinkSync(outside, join(own.dir, "agents", "elsewhere"));
      const db = `sqlite:${join(own.dir, "links.db")}`;
      const json = await holdfast("openclaw", "import", own.dir, "--store", db, "--json");
      assert.equal(json.code, 1, json.stderr);
      assert.equal(json.stderr, "");
      const report = JSON.parse(json.stdout);
      assert.deepEqual(
        report.sessions.map((s: { key: string; status: string }) => [s.key, s.status]),
        [
          ["agent:main:s1", "created"],
          ["agent:main:s2", "failed"],
          ["agent:main:s3", "missing"],
        ],
      );
      assert.match(
        report.sessions[1].note,
        /^transcript s2\.jsonl leads to .+ through a symbolic link, outside the state directory; not followed$/,
      );
      assert.deepEqual(
        report.problems.map((p: { path: string }) => p.path),
        ["agents/elsewhere"],
      );
      assert.equal(report.totals.problems, 1);
      const table = await holdfast("openclaw", "import", own.dir, "--store", db);
      assert.equal(table.code, 1, table.stderr);
      assert.match(
        table.stdout,
        /0 created, 0 appended, 0 updated, 1 unchanged, 0 diverged, 1 missing, 1 failed, 1 problem\(s\);/,
      );
      assert.match(
        table.stdout,
        /\n {2}problem agents\/elsewhere: agents\/elsewhere leads to .+; not followed/,
      );
      assert.match(
        table.stdout,
        /\n {2}failed agent:main:s2: transcript s2\.jsonl leads to .+; not followed/,
      );
      assert.match(table.stdout, /\n {2}missing agent:main:s3: transcript s3\.jsonl not found/);
      const audit = await holdfast("openclaw", "audit", own.dir, "--now", NOW);
      assert.equal(audit.code, 0, audit.stderr);
      assert.match(audit.stdout, /\nnot followed agents\/elsewhere: .+; not followed\n/);
      assert.match(
        audit.stdout,
        /\n {2}unreadable agent:main:s2: transcript s2\.jsonl leads to .+; not followed/,
      );
      assert.match(audit.stdout, /\n {2}missing transcript for agent:main:s3/);
    } finally {
      own.cleanup();
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("audit --json matches EXPECTED.json", async () => {
    const run = await holdfast("openclaw", "audit", fx.dir, "--json", "--now", NOW);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    for (const [agentId, exp] of Object.entries(fx.expected.agents) as [string, Expected][]) {
      const got = report.agents[agentId];
      for (const [key, e] of Object.entries(exp.entries) as [string, Expected][]) {
        const g = got.entries[key];
        for (const f of [
          "activePathIds",
          "totalEntries",
          "tornLines",
          "contextMessageCount",
          "toolCallsOnPath",
          "toolResultsOnPath",
          "orphanToolResultsOnPath",
          "compactionsOnPath",
          "hasBranches",
          "formatVersion",
          "transcript",
        ]) {
          assert.deepEqual(g[f], e[f], `${key} ${f}`);
        }
      }
      assert.deepEqual(got.audit.artifacts, exp.audit.artifacts);
      assert.deepEqual(got.audit.staleLocks, exp.audit.staleLocks);
      assert.deepEqual(got.audit.entriesMissingTranscript, exp.audit.entriesMissingTranscript);
      assert.deepEqual(got.files, exp.files);
    }
    const table = await holdfast("openclaw", "audit", fx.dir, "--now", NOW);
    assert.match(table.stdout, /stale lock 4e9fd76b/);
    assert.match(table.stdout, /1 torn line/);
  });

  it("import is idempotent and export writes a transcript that reads back to the same items", async () => {
    const run1 = await holdfast("openclaw", "import", fx.dir, "--store", store, "--json");
    // The fixture's index names one transcript that is not there: the import is partial.
    assert.equal(run1.code, 1, run1.stderr);
    const first = JSON.parse(run1.stdout);
    assert.equal(first.totals.created, 11);
    assert.equal(first.totals.missing, 1);
    const second = JSON.parse(
      (await holdfast("openclaw", "import", fx.dir, "--store", store, "--json")).stdout,
    );
    assert.equal(second.totals.unchanged, 11);
    assert.equal(second.totals.itemsWritten, 0);

    const e = fx.expected.agents.main.entries["agent:main:main"];
    const id = importedSessionId("main", e.sessionId);
    const out = join(fx.dir, "..", "exported.jsonl");
    const run = await holdfast("openclaw", "export", id, "--store", store, "--out", out);
    assert.equal(run.code, 0, run.stderr);
    const parsed = await parseTranscriptText(readFileSync(out, "utf8"));
    assert.equal(parsed.formatVersion, 3);
    const s = await createStore(store);
    try {
      const stored = await s.readItems("default", id, { limit: 1000 });
      assert.deepEqual(
        convertPath(activePath(parsed.entries)).items.map((i) => i.content),
        stored.map((i) => i.content),
      );
    } finally {
      await s.close();
    }
    const missing = await holdfast(
      "openclaw",
      "export",
      "conv_00000000000000000000",
      "--store",
      store,
      "--out",
      out,
    );
    assert.equal(missing.code, 3);
    // --json: the summary on stdout beside a file, on stderr when the transcript takes stdout.
    const json = await holdfast("openclaw", "export", id, "--store", store, "--out", out, "--json");
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as {
      sessionId: string;
      out: string;
      entries: number;
      bytes: number;
    };
    assert.deepEqual([summary.sessionId, summary.out], [id, out]);
    assert.equal(summary.bytes, readFileSync(out).length);
    const piped = await holdfast("openclaw", "export", id, "--store", store, "--out", "-", "--json");
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, readFileSync(out, "utf8"), "stdout holds the transcript alone");
    assert.equal((JSON.parse(piped.stderr) as { entries: number }).entries, summary.entries);
  });

  it("cleanup --enforce removes exactly what --dry-run listed", async () => {
    // The same selection twice, first listed, then enforced: only the mode differs.
    const cleanupJson = async (mode: "--dry-run" | "--enforce") =>
      JSON.parse(
        (
          await holdfast(
            "openclaw",
            "cleanup",
            fx.dir,
            mode,
            "--json",
            "--orphans",
            "--older-than",
            "30d",
            "--archives-older-than",
            "30d",
            "--stale-locks",
            "--now",
            NOW,
          )
        ).stdout,
      );
    const usage = await holdfast("openclaw", "cleanup", fx.dir, "--now", NOW);
    assert.equal(usage.code, 2);
    const dry = await cleanupJson("--dry-run");
    assert.ok(dry.actions.length > 0);
    for (const a of dry.actions) assert.equal(existsSync(join(fx.dir, a.file)), true);
    const enforced = await cleanupJson("--enforce");
    assert.deepEqual(
      enforced.result.done.map((a: { file: string }) => a.file),
      dry.actions.map((a: { file: string }) => a.file),
    );
    for (const a of dry.actions) assert.equal(existsSync(join(fx.dir, a.file)), false);
    const audit = JSON.parse((await holdfast("openclaw", "audit", fx.dir, "--json", "--now", NOW)).stdout);
    assert.equal(
      audit.agents.main.audit.artifacts.liveTranscript.count,
      fx.expected.agents.main.audit.artifacts.liveTranscript.count,
    );
  });
});
