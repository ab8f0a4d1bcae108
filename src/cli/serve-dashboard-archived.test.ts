/**
 * The dashboard over sessions the sweeper archived, through the real `holdfast serve`: a SQLite
 * store with the lifecycle on, conversations with turns on the mock model, one archived by the
 * sweeper (its `lifecycle.idle_ttl` override). The Usage view counts the archived session's turns
 * and tokens, and the Sessions view's model filter finds it, both read from its archive: the
 * session is still archived afterwards. The same with encryption at rest (`HOLDFAST_KEYS`), where
 * the archive holds sealed items.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { launchChromium } from "../../test/ui/browser.ts";
import { type RunningServer, startServe } from "./cli-helpers.ts";

const root = mkdtempSync(join(tmpdir(), "holdfast-serve-dashboard-archived-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A session's status read from the SQLite file itself: no Holdfast code path that could restore it. */
function statusInFile(db: string, id: string): string | undefined {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    sqlite.exec("PRAGMA busy_timeout = 2000");
    const row = sqlite.prepare("SELECT status FROM sessions WHERE id = ?").get(id);
    return row ? String(row.status) : undefined;
  } finally {
    sqlite.close();
  }
}

/** The files under the archive directory (one gzip archive per archived session). */
function archiveFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

interface Dashboard {
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Signs in to the dashboard of a development-mode server (loopback, no API key: no admin key asked). */
async function dashboardOf(url: string): Promise<Dashboard> {
  const res = await fetch(`${url}/ui/api/session`);
  assert.equal(res.status, 200);
  const cookie = String(res.headers.get("set-cookie")).split(";")[0]!;
  return {
    async get(path) {
      const answer = await fetch(`${url}/ui/api${path}`, { headers: { cookie } });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    },
  };
}

async function post(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, JSON.stringify(answer));
  return answer;
}

/** Runs `turns` turns on the mock model in a new conversation; its id and the tokens the turns reported. */
async function conversationWithTurns(
  url: string,
  turns: number,
  word: string,
): Promise<{ id: string; tokens: number }> {
  const conversation = await post(url, "/v1/conversations", { metadata: { topic: word } });
  const id = String(conversation.id);
  let tokens = 0;
  for (let i = 0; i < turns; i++) {
    const response = await post(url, "/v1/responses", {
      model: "mock",
      conversation: id,
      input: `${word} turn ${i}: tell me about lighthouses`,
    });
    const usage = response.usage as { input_tokens: number; output_tokens: number };
    tokens += usage.input_tokens + usage.output_tokens;
  }
  return { id, tokens };
}

interface Row {
  id: string;
  status: string;
}

async function waitForArchived(dashboard: Dashboard, id: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await dashboard.get("/sessions?status=archived");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if ((res.body.data as Row[]).some((row) => row.id === id)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`the sweeper did not archive ${id}`);
}

/** What a browser shows: Usage's top sessions and its archived note, and the model-filtered Sessions list. */
async function checkInBrowser(url: string, archivedId: string, tokens: number): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // Development mode: the dashboard signs in on the first visit.
    await page.goto(`${url}/ui/#/usage?days=30&metric=tokens`);
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    await page.getByText("Includes 1 archived session(s), read from their archives").waitFor();
    const row = page.locator("tr", { has: page.getByRole("link", { name: archivedId }) });
    assert.deepEqual((await row.locator("td.num").allTextContents()).slice(0, 2), [
      "3",
      tokens.toLocaleString("en-US"),
    ]);
    await page.goto(`${url}/ui/#/sessions?model=mock`);
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    await page.locator("#model-scan").waitFor();
    await page.locator("tbody tr", { hasText: archivedId }).filter({ hasText: "archived" }).waitFor();
  } finally {
    await browser.close();
  }
}

async function stop(server: RunningServer): Promise<void> {
  server.child.kill("SIGTERM");
  const result = await server.exited;
  assert.equal(result.code, 0, result.stderr);
}

async function scenario(
  name: string,
  env: Record<string, string>,
  options: { sealed: boolean; browser?: boolean },
): Promise<void> {
  const dir = join(root, name);
  const db = join(dir, "store.db");
  const archives = join(dir, "archives");
  const config = join(root, `${name}.yaml`);
  writeFileSync(
    config,
    [
      "lifecycle:",
      "  defaults: { on_expiry: archive }",
      "  archive:",
      "    backend: dir",
      `    dir: ${JSON.stringify(archives)}`,
      `  action_log: ${JSON.stringify(join(dir, "actions.jsonl"))}`,
      "  sweeper: { interval: 200ms }",
      "",
    ].join("\n"),
  );
  const server = await startServe(["--port", "0", "--store", `sqlite:${db}`, "--config", config], { env });
  try {
    const dashboard = await dashboardOf(server.url);
    const kept = await conversationWithTurns(server.url, 1, "kept");
    const archived = await conversationWithTurns(server.url, 3, "plover");
    // Idle for a second, then the sweeper archives it; the other conversation has no such override.
    await post(server.url, `/v1/conversations/${archived.id}`, { metadata: { "lifecycle.idle_ttl": "1s" } });
    await waitForArchived(dashboard, archived.id);
    assert.equal(statusInFile(db, archived.id), "archived");
    const files = archiveFiles(archives);
    assert.equal(files.length, 1, "one archive written");
    const archivedText = gunzipSync(readFileSync(files[0]!)).toString("utf8");
    assert.equal(
      /plover turn/.test(archivedText),
      !options.sealed,
      "the archive holds the items sealed exactly when encrypted",
    );

    const usage = await dashboard.get("/usage?days=30");
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    const top = usage.body.topSessions as { id: string; turns: number; tokens: number }[];
    const row = top.find((s) => s.id === archived.id);
    assert.deepEqual(row && [row.turns, row.tokens], [3, archived.tokens], JSON.stringify(usage.body));
    assert.equal(top.find((s) => s.id === kept.id)?.turns, 1);
    assert.deepEqual([usage.body.archivedSessions, usage.body.archivedExcluded], [1, 0]);
    const points = usage.body.points as { model: string; turns: number }[];
    assert.equal(
      points.reduce((sum, p) => sum + p.turns, 0),
      4,
      "the archived session's three turns and the other's one",
    );

    const filtered = await dashboard.get("/sessions?model=mock");
    assert.equal(filtered.status, 200, JSON.stringify(filtered.body));
    assert.deepEqual(
      (filtered.body.data as Row[]).map((s) => [s.id, s.status]).sort(),
      [
        [archived.id, "archived"],
        [kept.id, "active"],
      ].sort(),
      "the model filter finds the archived session too",
    );
    assert.deepEqual((await dashboard.get("/sessions?model=gpt-4o")).body.data, []);
    // Typing its id in the search box lists it (a list: no restore).
    const searched = await dashboard.get(`/sessions?q=${archived.id}`);
    assert.equal(searched.status, 200, JSON.stringify(searched.body));
    assert.deepEqual(
      (searched.body.data as Row[]).map((s) => [s.id, s.status]),
      [[archived.id, "archived"]],
    );

    if (options.browser) await checkInBrowser(server.url, archived.id, archived.tokens);

    assert.equal(statusInFile(db, archived.id), "archived", "the dashboard restored it");
    assert.deepEqual(archiveFiles(archives), files, "the archive is still there");
  } finally {
    await stop(server);
  }
}

describe("holdfast serve: the dashboard over archived sessions", () => {
  it("counts and filters an archived session from its archive, and leaves it archived", async () => {
    await scenario("plain", {}, { sealed: false, browser: true });
  });

  it("does the same with encryption at rest, whose archive holds sealed items", async () => {
    await scenario(
      "encrypted",
      { HOLDFAST_KEYS: `k1:${randomBytes(32).toString("base64")}` },
      { sealed: true },
    );
  });
});
