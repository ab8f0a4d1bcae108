/**
 * `npm run bench:interop [-- --size 50MB|1GB] [--store sqlite|memory:] [--json] [--keep]`
 *
 * Generates an OpenClaw-style state dir (4 agents; sessions of 10–80 turns with thinking, tool
 * calls and results, a compaction every ~40 entries, a branch in 1 session of 10), then measures
 * through the public library functions:
 *   - OpenClaw import (`importStateDir`) into a fresh store: transcript MB/s and sessions/s;
 *   - portable export (`exportSessions`) of everything to a file: MB/s of the file written;
 *   - portable import (`importSessions`) of that file into another fresh store: MB/s read.
 * Default store: a temporary SQLite file per step. Peak RSS is reported to show memory stays flat.
 */
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { importStateDir } from "../src/interop/openclaw/import.ts";
import { exportSessions, importSessions } from "../src/interop/portable/index.ts";
import { createStore } from "../src/store/create-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";

const TENANT = "bench";
const AGENTS = ["main", "research", "ops", "support"];
const WORDS =
  "the of session tool result agent model window token compaction branch summary file index lock archive stale import export checksum stream memory throughput latency durable bounded private tenant gateway provider fallback retry".split(
    " ",
  );

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(KB|MB|GB)$/i.exec(text);
  if (!m) throw new Error(`--size must look like 50MB or 1GB (got '${text}')`);
  return Math.round(Number(m[1]) * { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2]!.toUpperCase() as "MB"]);
}

/** Small deterministic PRNG (mulberry32) so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(r: () => number, chars: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < chars) {
    const w = WORDS[Math.floor(r() * WORDS.length)]!;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(" ");
}

function hex(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function uuid(r: () => number): string {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** One transcript as text; returns it and its session id. */
function transcript(r: () => number, t0: number): { id: string; text: string } {
  const id = uuid(r);
  const lines: string[] = [
    JSON.stringify({
      type: "session",
      version: 3,
      id,
      timestamp: new Date(t0).toISOString(),
      cwd: "/home/bench/.openclaw/workspace",
    }),
  ];
  let parent: string | null = null;
  let t = t0;
  let since = 0;
  let branchFrom: string | null = null;
  const push = (body: Record<string, unknown>): string => {
    const eid = hex(r, 8);
    t += 1000 + Math.floor(r() * 60_000);
    lines.push(JSON.stringify({ ...body, id: eid, parentId: parent, timestamp: new Date(t).toISOString() }));
    parent = eid;
    since++;
    return eid;
  };
  const usage = {
    input: 3000,
    output: 200,
    cacheRead: 1000,
    cacheWrite: 0,
    totalTokens: 4200,
    cost: { input: 0.009, output: 0.003, cacheRead: 0.0003, cacheWrite: 0, total: 0.0123 },
  };
  const turns = 10 + Math.floor(r() * 70);
  for (let turn = 0; turn < turns; turn++) {
    const user = push({
      type: "message",
      message: { role: "user", content: [{ type: "text", text: text(r, 200 + r() * 400) }], timestamp: t },
    });
    if (turn === 3 && r() < 0.1) branchFrom = user;
    const calls = r() < 0.6 ? 1 + Math.floor(r() * 2) : 0;
    const callIds = Array.from({ length: calls }, () => `call_${hex(r, 24)}`);
    const content: unknown[] = [{ type: "thinking", thinking: text(r, 150) }];
    for (const c of callIds)
      content.push({ type: "toolCall", id: c, name: "read", arguments: { path: `src/${hex(r, 6)}.ts` } });
    if (calls > 0) {
      push({
        type: "message",
        message: {
          role: "assistant",
          content,
          api: "anthropic-messages",
          provider: "anthropic",
          model: "claude-sonnet-4-6",
          usage,
          stopReason: "toolUse",
          timestamp: t,
        },
      });
      for (const c of callIds)
        push({
          type: "message",
          message: {
            role: "toolResult",
            toolCallId: c,
            toolName: "read",
            content: [{ type: "text", text: text(r, 1000 + r() * 3000) }],
            isError: false,
            timestamp: t,
          },
        });
    }
    push({
      type: "message",
      message: {
        role: "assistant",
        content: [{ type: "text", text: text(r, 500 + r() * 1000) }],
        api: "anthropic-messages",
        provider: "anthropic",
        model: "claude-sonnet-4-6",
        usage,
        stopReason: "stop",
        timestamp: t,
      },
    });
    if (since > 40) {
      const kept = parent;
      push({
        type: "compaction",
        summary: `## Goal\n${text(r, 600)}`,
        firstKeptEntryId: kept,
        tokensBefore: 50_000,
      });
      since = 0;
    }
  }
  if (branchFrom) {
    const leafBefore = parent;
    parent = branchFrom;
    push({
      type: "message",
      message: {
        role: "assistant",
        content: [{ type: "text", text: text(r, 800) }],
        api: "anthropic-messages",
        provider: "anthropic",
        model: "claude-sonnet-4-6",
        usage,
        stopReason: "stop",
        timestamp: t,
      },
    });
    // Return to the main line so the active leaf stays there.
    parent = leafBefore;
    push({
      type: "message",
      message: { role: "user", content: [{ type: "text", text: "and back" }], timestamp: t },
    });
  }
  return { id, text: `${lines.join("\n")}\n` };
}

/** Writes the state dir; returns transcript bytes and session count. */
function generate(dir: string, target: number): { bytes: number; sessions: number } {
  const r = rng(42);
  const indexes = new Map<string, Record<string, unknown>>(AGENTS.map((a) => [a, {}]));
  let bytes = 0;
  let sessions = 0;
  for (const a of AGENTS) mkdirSync(join(dir, "agents", a, "sessions"), { recursive: true });
  while (bytes < target) {
    const agent = AGENTS[sessions % AGENTS.length]!;
    const t0 = Date.UTC(2026, 8, 1) + sessions * 60_000;
    const { id, text: body } = transcript(r, t0);
    writeFileSync(join(dir, "agents", agent, "sessions", `${id}.jsonl`), body);
    indexes.get(agent)![`agent:${agent}:bench:${id}`] = {
      sessionId: id,
      updatedAt: t0,
      sessionFile: `/home/bench/.openclaw/agents/${agent}/sessions/${id}.jsonl`,
      chatType: "direct",
      model: "claude-sonnet-4-6",
      modelProvider: "anthropic",
    };
    bytes += Buffer.byteLength(body);
    sessions++;
  }
  for (const [a, index] of indexes)
    writeFileSync(join(dir, "agents", a, "sessions", "sessions.json"), JSON.stringify(index, null, 2));
  return { bytes, sessions };
}

async function fresh(kind: string, dir: string, name: string): Promise<SessionStore> {
  return createStore(kind === "sqlite" ? `sqlite:${join(dir, `${name}.db`)}` : kind);
}

const MB = 1024 ** 2;
const rate = (n: number, ms: number): number => Math.round((n / (ms / 1000)) * 10) / 10;

async function main(): Promise<void> {
  const values = parseBenchArgs(
    "npm run bench:interop --",
    "OpenClaw import, portable export and portable import throughput on a generated state dir.",
    {
      size: {
        type: "string",
        default: "50MB",
        value: "size",
        help: "transcript bytes to generate (e.g. 50MB, 1GB)",
      },
      store: {
        type: "string",
        default: "sqlite",
        value: "url",
        help: "store per step: sqlite (a temporary file) or a URL",
      },
      json: { type: "boolean", default: false, help: "print the figures as JSON" },
      keep: { type: "boolean", default: false, help: "keep the generated files and stores" },
    },
  );
  const root = mkdtempSync(join(tmpdir(), "holdfast-bench-interop-"));
  try {
    const state = join(root, "state");
    let t = performance.now();
    const gen = generate(state, parseSize(values.size!));
    const genMs = performance.now() - t;

    const a = await fresh(values.store!, root, "openclaw");
    t = performance.now();
    // Time of each quarter of the sessions: flat quarters mean per-session cost does not grow.
    const marks: number[] = [];
    const report = await importStateDir(a, state, {
      tenant: TENANT,
      onSession: () => marks.push(performance.now()),
    });
    const importMs = performance.now() - t;
    const quarterSec = [1, 2, 3, 4].map((q) => {
      const end = marks[Math.ceil((marks.length * q) / 4) - 1] ?? t;
      const start = q === 1 ? t : (marks[Math.ceil((marks.length * (q - 1)) / 4) - 1] ?? t);
      return Math.round((end - start) / 100) / 10;
    });

    const file = join(root, "export.jsonl");
    const out = createWriteStream(file);
    t = performance.now();
    const exp = await exportSessions(a, TENANT, {}, out);
    out.end();
    await finished(out);
    const exportMs = performance.now() - t;
    await a.close();

    const b = await fresh(values.store!, root, "portable");
    t = performance.now();
    const imp = await importSessions(b, TENANT, createReadStream(file));
    const reimportMs = performance.now() - t;
    await b.close();

    const fileBytes = statSync(file).size;
    const figures = {
      store: values.store,
      generated: {
        transcriptMB: Math.round((gen.bytes / MB) * 10) / 10,
        sessions: gen.sessions,
        seconds: Math.round(genMs / 100) / 10,
      },
      openclawImport: {
        MBps: rate(gen.bytes / MB, importMs),
        sessionsPerSec: rate(gen.sessions, importMs),
        items: report.totals.itemsWritten,
        forks: report.totals.forks,
        seconds: Math.round(importMs / 100) / 10,
        quarterSec,
      },
      portableExport: {
        MBps: rate(fileBytes / MB, exportMs),
        fileMB: Math.round((fileBytes / MB) * 10) / 10,
        sessions: exp.sessions,
        items: exp.items,
        seconds: Math.round(exportMs / 100) / 10,
      },
      portableImport: {
        MBps: rate(fileBytes / MB, reimportMs),
        sessions: imp.imported,
        items: imp.items,
        seconds: Math.round(reimportMs / 100) / 10,
      },
      roundTripMBps: rate(fileBytes / MB, exportMs + reimportMs),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    else {
      const f = figures;
      process.stdout.write(
        `${[
          `store ${f.store}; generated ${f.generated.transcriptMB} MB, ${f.generated.sessions} sessions in ${f.generated.seconds} s`,
          `openclaw import   ${f.openclawImport.MBps} MB/s, ${f.openclawImport.sessionsPerSec} sessions/s (${f.openclawImport.items} items, ${f.openclawImport.forks} forks, ${f.openclawImport.seconds} s; quarters ${f.openclawImport.quarterSec.join(" / ")} s)`,
          `portable export   ${f.portableExport.MBps} MB/s (${f.portableExport.fileMB} MB file, ${f.portableExport.items} items, ${f.portableExport.seconds} s)`,
          `portable import   ${f.portableImport.MBps} MB/s (${f.portableImport.seconds} s)`,
          `round trip        ${f.roundTripMBps} MB/s`,
          `peak RSS          ${f.peakRssMB} MB`,
        ].join("\n")}\n`,
      );
    }
  } finally {
    if (!values.keep) rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`kept ${root}\n`);
  }
}

await main();
