/**
 * Test helper: a private copy of the shared OpenClaw fixture with the file mtimes of
 * EXPECTED.json restored (git does not keep mtimes). Not part of the library surface.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { auditStateDir } from "./audit.ts";
import type { OpenClawImportReport } from "./import.ts";

/** The shared fixture (override with HOLDFAST_OPENCLAW_FIXTURE). */
export const FIXTURE_DIR =
  process.env.HOLDFAST_OPENCLAW_FIXTURE ??
  resolve(import.meta.dirname, "../../../../shared/fixtures/openclaw-state");

export interface ExpectedFile {
  name: string;
  class: string;
  bytes: number;
  mtime: string;
  olderThan30Days: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: ground-truth JSON read by tests, shape checked by assertions
export type Expected = any;

export function loadExpected(): Expected {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, "EXPECTED.json"), "utf8"));
}

/** The fixture files are read-only in the repo; copies must be writable so cleanup can delete them. */
function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const name of readdirSync(path)) makeWritable(join(path, name));
}

/** Copies the fixture into a temp dir, restores mtimes, returns the dir and a cleanup function. */
export function copyFixture(): { dir: string; expected: Expected; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "holdfast-openclaw-"));
  const dir = join(root, "state");
  cpSync(FIXTURE_DIR, dir, { recursive: true });
  makeWritable(dir);
  rmSync(join(dir, "EXPECTED.json"));
  rmSync(join(dir, "README.md"));
  const expected = loadExpected();
  for (const agent of Object.values(expected.agents) as { sessionsDir: string; files: ExpectedFile[] }[]) {
    for (const f of agent.files) {
      const t = new Date(f.mtime);
      utimesSync(join(dir, agent.sessionsDir, f.name), t, t);
    }
  }
  return { dir, expected, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Every index entry of a fixture copy that has a transcript, with the transcript's path; the first
 * two transcripts are made unreadable: a directory where the first file was, and a byte that is
 * not UTF-8 in the middle of the second one's second line.
 */
export function damageTranscripts(fx: {
  dir: string;
  expected: Expected;
}): { agentId: string; key: string; path: string }[] {
  const transcripts = (Object.entries(fx.expected.agents) as [string, Expected][]).flatMap(
    ([agentId, agent]) =>
      (Object.entries(agent.entries) as [string, Expected][])
        .filter(([, e]) => e.transcript !== null)
        .map(([key, e]) => ({ agentId, key, path: join(fx.dir, e.transcript as string) })),
  );
  const [dir, binary] = transcripts;
  rmSync(dir!.path);
  mkdirSync(dir!.path);
  const text = readFileSync(binary!.path);
  const cut = text.indexOf(10) + 30;
  writeFileSync(
    binary!.path,
    Buffer.concat([text.subarray(0, cut), Buffer.from([0xff]), text.subarray(cut)]),
  );
  return transcripts;
}

/**
 * A state dir with one agent, `main`, whose index names `agent:main:<sessionId>` → `<sessionId>.jsonl`
 * for each transcript given (its lines after a v3 header).
 */
export function writeStateDir(transcripts: Record<string, string[]>): {
  dir: string;
  sessions: string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-openclaw-"));
  const sessions = join(dir, "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  const index: Record<string, { sessionId: string; sessionFile: string }> = {};
  for (const [sessionId, lines] of Object.entries(transcripts)) {
    index[`agent:main:${sessionId}`] = { sessionId, sessionFile: `${sessionId}.jsonl` };
    const header = JSON.stringify({ type: "session", version: 3, id: sessionId, timestamp: "t", cwd: "/" });
    writeFileSync(join(sessions, `${sessionId}.jsonl`), `${[header, ...lines].join("\n")}\n`);
  }
  writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index));
  return { dir, sessions, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts that the audit of `dir` gives every session the warnings `report` (its import) gave. */
export async function assertAuditWarnsAsImport(dir: string, report: OpenClawImportReport): Promise<void> {
  const audit = await auditStateDir(dir);
  for (const s of report.sessions)
    assert.deepEqual(
      audit.agents[s.agentId]?.entries[s.key]?.warnings,
      s.warnings,
      `audit warnings of ${s.key}`,
    );
  assert.deepEqual(audit.totals.warnings, report.totals.warnings);
}
