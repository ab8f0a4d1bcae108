/**
 * Symbolic links in a state dir, and index entries whose transcript is not there. A transcript,
 * index or sessions dir linked from outside the state dir used to be read and imported (and
 * cleanup would delete files in a linked-in dir); an agent whose index could not be read was left
 * out of the import report altogether. Links are now followed only while they stay inside.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createStore } from "../../store/create-store.ts";
import { auditStateDir } from "./audit.ts";
import { planCleanup } from "./cleanup.ts";
import { importStateDir } from "./import.ts";
import { writeStateDir } from "./test-fixture.ts";

const HEADER = JSON.stringify({ type: "session", version: 3, id: "h", timestamp: "t", cwd: "/" });
const transcript = (text: string): string =>
  `${HEADER}\n${JSON.stringify({ type: "message", id: "a", parentId: null, message: { role: "user", content: text } })}\n`;

/**
 * A state dir (agent `main`: one plain transcript, one linked inside the state dir, one linked
 * from outside, one link to nothing, one absent) and, beside it, the outside dir the links reach.
 */
function layout(): { dir: string; outside: string; cleanup: () => void } {
  const fx = writeStateDir({ plain: [] });
  const outside = mkdtempSync(join(tmpdir(), "holdfast-openclaw-outside-"));
  writeFileSync(join(fx.sessions, "plain.jsonl"), transcript("plain"));
  mkdirSync(join(fx.dir, "kept"));
  writeFileSync(join(fx.dir, "kept", "inner.jsonl"), transcript("linked from inside"));
  symlinkSync(join(fx.dir, "kept", "inner.jsonl"), join(fx.sessions, "inner.jsonl"));
  writeFileSync(join(outside, "secret.jsonl"), transcript("outside the state dir"));
  symlinkSync(join(outside, "secret.jsonl"), join(fx.sessions, "escape.jsonl"));
  symlinkSync(join(outside, "gone.jsonl"), join(fx.sessions, "dangling.jsonl"));
  writeFileSync(
    join(fx.sessions, "sessions.json"),
    JSON.stringify(
      Object.fromEntries(
        ["plain", "inner", "escape", "dangling", "absent"].map((id) => [
          `agent:main:${id}`,
          { sessionId: id },
        ]),
      ),
    ),
  );
  // Agent `far`: a sessions dir linked from outside (with an orphan cleanup would delete).
  mkdirSync(join(outside, "far-sessions"));
  writeFileSync(
    join(outside, "far-sessions", "sessions.json"),
    JSON.stringify({ "agent:far:main": { sessionId: "f" } }),
  );
  writeFileSync(join(outside, "far-sessions", "f.jsonl"), transcript("far"));
  writeFileSync(join(outside, "far-sessions", "orphan.jsonl"), transcript("orphan"));
  mkdirSync(join(fx.dir, "agents", "far"));
  symlinkSync(join(outside, "far-sessions"), join(fx.dir, "agents", "far", "sessions"));
  // Agent `linked`: the agent dir itself is a link out.
  symlinkSync(outside, join(fx.dir, "agents", "linked"));
  // Agent `alias`: a link to an agent dir inside the state dir, followed.
  mkdirSync(join(fx.dir, "moved", "sessions"), { recursive: true });
  writeFileSync(
    join(fx.dir, "moved", "sessions", "sessions.json"),
    JSON.stringify({ "agent:alias:main": { sessionId: "m" } }),
  );
  writeFileSync(join(fx.dir, "moved", "sessions", "m.jsonl"), transcript("moved"));
  symlinkSync(join(fx.dir, "moved"), join(fx.dir, "agents", "alias"));
  // Agent `idx`: its index is a link out; agent `torn`: its index is not JSON.
  mkdirSync(join(fx.dir, "agents", "idx", "sessions"), { recursive: true });
  writeFileSync(join(outside, "index.json"), JSON.stringify({ "agent:idx:main": { sessionId: "i" } }));
  symlinkSync(join(outside, "index.json"), join(fx.dir, "agents", "idx", "sessions", "sessions.json"));
  writeFileSync(join(fx.dir, "agents", "idx", "sessions", "i.jsonl"), transcript("idx"));
  mkdirSync(join(fx.dir, "agents", "torn", "sessions"), { recursive: true });
  writeFileSync(join(fx.dir, "agents", "torn", "sessions", "sessions.json"), '{"agent:torn:main": {');
  return {
    dir: fx.dir,
    outside,
    cleanup: () => {
      fx.cleanup();
      rmSync(outside, { recursive: true, force: true });
    },
  };
}

describe("openclaw state dirs with symbolic links and missing transcripts", () => {
  it("follows links inside the state dir only, reports the rest entry by entry, and imports everything else", async () => {
    const fx = layout();
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      const status = Object.fromEntries(report.sessions.map((s) => [s.key, [s.status, s.note ?? null]]));
      assert.deepEqual(status, {
        "agent:alias:main": ["created", null],
        "agent:main:plain": ["created", null],
        "agent:main:inner": ["created", null],
        "agent:main:escape": [
          "failed",
          `transcript escape.jsonl leads to ${join(fx.outside, "secret.jsonl")} through a symbolic link, outside the state directory; not followed`,
        ],
        "agent:main:dangling": [
          "missing",
          `transcript dangling.jsonl is a symbolic link to ${join(fx.outside, "gone.jsonl")}, which does not exist`,
        ],
        "agent:main:absent": ["missing", "transcript absent.jsonl not found"],
      });
      assert.deepEqual(report.problems, [
        {
          path: "agents/far/sessions",
          problem: `agents/far/sessions leads to ${join(fx.outside, "far-sessions")} through a symbolic link, outside the state directory; not followed`,
        },
        {
          path: "agents/linked",
          problem: `agents/linked leads to ${fx.outside} through a symbolic link, outside the state directory; not followed`,
        },
        {
          path: "agents/idx/sessions/sessions.json",
          problem: `sessions.json leads to ${join(fx.outside, "index.json")} through a symbolic link, outside the state directory; not followed; no session of agent idx was imported`,
        },
        {
          path: "agents/torn/sessions/sessions.json",
          problem: "sessions.json is not valid JSON; no session of agent torn was imported",
        },
      ]);
      assert.equal(report.totals.problems, 4);
      assert.equal(report.totals.created, 3);
      assert.equal(report.totals.failed, 1);
      assert.equal(report.totals.missing, 2);
      // Nothing read through a link out of the state dir reached the store.
      const sessions = await store.list("default", { limit: 100 });
      assert.equal(sessions.data.length, 3);
      for (const s of sessions.data) {
        for (const item of await store.readItems("default", s.id, { limit: 10 }))
          assert.doesNotMatch(JSON.stringify(item.content), /outside the state dir|far|idx/);
      }

      // The audit reads what the import reads.
      const audit = await auditStateDir(fx.dir);
      assert.deepEqual(
        audit.skipped.map((p) => p.path),
        [
          "agents/far/sessions",
          "agents/linked",
          "agents/idx/sessions/sessions.json",
          "agents/main/sessions/dangling.jsonl",
          "agents/main/sessions/escape.jsonl",
        ],
      );
      assert.deepEqual(Object.keys(audit.agents).sort(), ["alias", "idx", "main", "torn"]);
      assert.match(audit.agents.idx!.indexError!, /^sessions\.json leads to .+; not followed$/);
      assert.deepEqual(audit.agents.main!.audit.entriesUnreadableTranscript, ["agent:main:escape"]);
      assert.deepEqual(audit.agents.main!.audit.entriesMissingTranscript, [
        "agent:main:dangling",
        "agent:main:absent",
      ]);
      // Cleanup plans nothing in a dir linked in from outside.
      const plan = planCleanup(fx.dir, { orphans: true, olderThanMs: 0 });
      assert.ok(plan.actions.every((a) => !a.file.startsWith("agents/far/")));
      assert.equal(
        readFileSync(join(fx.outside, "far-sessions", "orphan.jsonl"), "utf8"),
        transcript("orphan"),
      );
    } finally {
      await store.close();
      fx.cleanup();
    }
  });

  it("audit lists a file linked from inside the state dir like a file and names the links it did not follow", async () => {
    const fx = layout();
    try {
      const audit = await auditStateDir(fx.dir);
      const main = audit.agents.main!;
      const inner = main.files.find((f) => f.name === "inner.jsonl");
      assert.deepEqual(inner && { class: inner.class, bytes: inner.bytes, symlink: inner.symlink }, {
        class: "liveTranscript",
        bytes: transcript("linked from inside").length,
        symlink: "kept/inner.jsonl",
      });
      assert.equal(main.files.find((f) => f.name === "plain.jsonl")?.symlink, undefined);
      assert.deepEqual(
        main.files.map((f) => f.name),
        ["inner.jsonl", "plain.jsonl", "sessions.json"],
      );
      assert.equal(main.audit.artifacts.liveTranscript.count, 2);
      assert.deepEqual(
        audit.skipped.filter((p) => p.path.startsWith("agents/main/")),
        [
          {
            path: "agents/main/sessions/dangling.jsonl",
            problem: `agents/main/sessions/dangling.jsonl is a symbolic link to ${join(fx.outside, "gone.jsonl")}, which does not exist`,
          },
          {
            path: "agents/main/sessions/escape.jsonl",
            problem: `agents/main/sessions/escape.jsonl leads to ${join(fx.outside, "secret.jsonl")} through a symbolic link, outside the state directory; not followed`,
          },
        ],
      );
      // Cleanup leaves links alone: deleting one frees nothing of its target.
      const plan = planCleanup(fx.dir, { orphans: true, includeLive: true, olderThanMs: 0 });
      assert.ok(plan.actions.some((a) => a.file === "agents/main/sessions/plain.jsonl"));
      assert.ok(plan.actions.every((a) => !/(inner|escape|dangling)\.jsonl$/.test(a.file)));
    } finally {
      fx.cleanup();
    }
  });

  it("reports an agent dir or sessions dir that is a symbolic link to nothing, instead of passing over it", async () => {
    const fx = writeStateDir({ kept: [] });
    const gone = join(fx.dir, "removed-agent");
    symlinkSync(gone, join(fx.dir, "agents", "ghost"));
    mkdirSync(join(fx.dir, "agents", "hollow"));
    symlinkSync(join(gone, "sessions"), join(fx.dir, "agents", "hollow", "sessions"));
    // An agent dir without any sessions dir is an agent with no sessions, not a problem.
    mkdirSync(join(fx.dir, "agents", "fresh"));
    const expected = [
      {
        path: "agents/ghost",
        problem: `agents/ghost is a symbolic link to ${gone}, which does not exist`,
      },
      {
        path: "agents/hollow/sessions",
        problem: `agents/hollow/sessions is a symbolic link to ${join(gone, "sessions")}, which does not exist`,
      },
    ];
    const store = await createStore("memory:");
    try {
      const report = await importStateDir(store, fx.dir);
      assert.deepEqual(report.problems, expected);
      assert.equal(report.totals.problems, 2);
      assert.deepEqual(
        report.sessions.map((s) => [s.key, s.status]),
        [["agent:main:kept", "created"]],
      );
      assert.deepEqual((await auditStateDir(fx.dir)).skipped, expected);
    } finally {
      await store.close();
      fx.cleanup();
    }
  });
});
