import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { archivePath } from "../../lifecycle/archive-files.ts";
import type { CleanupPlan, SweepReport } from "../../lifecycle/index.ts";
import { createSessionStore } from "../../store/core.ts";
import { createSqliteDriver } from "../../store/drivers/sqlite.ts";
import { runCli } from "../cli-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-cleanup-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, "store.db");
const cfg = join(dir, "holdfast.yaml");
const archives = join(dir, "archives");
const actionLog = join(dir, "actions.jsonl");
const T0 = Date.UTC(2026, 0, 1);
const NOW = new Date(T0 + 2 * 36e5).toISOString();
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

describe("holdfast cleanup", () => {
  before(async () => {
    let now = T0;
    const store = createSessionStore(createSqliteDriver({ path: db }), { clock: () => now });
    for (let i = 0; i < 12; i++) {
      now += 1000;
      await store.create(i % 2 ? "default" : "acme", {
        owner: `u${i % 3}`,
        idleTtlMs: i % 4 === 0 ? 36e5 : null,
        pinned: i === 5,
        items: [msg(`q${i}`), msg(`a${i}`)],
      });
    }
    await store.close();
    writeFileSync(
      cfg,
      [
        "lifecycle:",
        "  defaults:",
        "    on_expiry: archive",
        "    max_sessions_per_owner: 1",
        "  tenants:",
        "    acme: { on_expiry: delete }",
        "  archive:",
        `    dir: ${JSON.stringify(archives)}`,
        `  action_log: ${JSON.stringify(actionLog)}`,
        "",
      ].join("\n"),
    );
  });

  const base = ["cleanup", "--store", `sqlite:${db}`, "--config", cfg, "--now", NOW];

  it("prints a dry-run table with totals and changes nothing; --enforce then does exactly that plan", async () => {
    const table = await runCli([...base, "--dry-run"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /ACTION\s+SESSION\s+OWNER\s+AGE\s+SIZE\s+REASON/);
    assert.match(table.stdout, /idle_ttl/);
    assert.match(table.stdout, /owner_limit/);
    assert.match(table.stdout, /Pinned \(kept, counted in budgets\): 1 session/);
    assert.match(table.stdout, /Dry run: nothing was changed/);

    const dry = await runCli([...base, "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as CleanupPlan;
    assert.ok(plan.actions.length >= 4);
    assert.deepEqual(
      JSON.parse((await runCli([...base, "--dry-run", "--json"])).stdout),
      plan,
      "nothing changed",
    );
    assert.equal(existsSync(actionLog), false);

    const enforced = await runCli([...base, "--enforce", "--json"]);
    assert.equal(enforced.code, 0, enforced.stderr);
    const result = JSON.parse(enforced.stdout) as { plan: CleanupPlan; report: SweepReport };
    assert.deepEqual(result.plan, plan);
    assert.equal(result.report.done, plan.actions.length);
    assert.equal(result.report.bytesFreed, plan.totals.bytes);
    const log = readFileSync(actionLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { action: string; sessionId: string; outcome: string });
    assert.deepEqual(
      log.map((e) => [e.action, e.sessionId, e.outcome]),
      plan.actions.map((a) => [a.action, a.sessionId, "done"]),
    );
    for (const a of plan.actions.filter((x) => x.action === "archive")) {
      assert.ok(existsSync(archivePath(archives, a.tenant, a.sessionId)), `archive of ${a.sessionId}`);
    }
    const after = JSON.parse((await runCli([...base, "--dry-run", "--json"])).stdout) as CleanupPlan;
    assert.deepEqual(after.actions, []);
  });

  it("enforces a saved plan with --plan and rejects bad usage with exit code 2", async () => {
    const planFile = join(dir, "plan.json");
    writeFileSync(planFile, (await runCli([...base, "--dry-run", "--json", "--tenant", "acme"])).stdout);
    const applied = await runCli([...base, "--enforce", "--plan", planFile]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Enforced: \d+ done/);
    const neither = await runCli(["cleanup", "--store", `sqlite:${db}`]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /exactly one of --dry-run or --enforce/);
    const badPlan = await runCli([...base, "--enforce", "--plan", cfg]);
    assert.equal(badPlan.code, 2);
  });
});
