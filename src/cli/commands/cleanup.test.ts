import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { archivePath } from "../../lifecycle/archive-files.ts";
import { zstdAvailable } from "../../lifecycle/archive-format.ts";
import { lifecycleDriver } from "../../lifecycle/archiver.ts";
import type { CleanupPlan, SweepReport } from "../../lifecycle/index.ts";
import { createSessionStore } from "../../store/core.ts";
import { createStore } from "../../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../../store/drivers/postgres-test-support.ts";
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
    // The plan fixes its own instant: no --now with --plan.
    const applied = await runCli([
      "cleanup",
      "--store",
      `sqlite:${db}`,
      "--config",
      cfg,
      "--enforce",
      "--plan",
      planFile,
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Enforced: \d+ done/);
    const neither = await runCli(["cleanup", "--store", `sqlite:${db}`]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /exactly one of --dry-run or --enforce/);
    const badPlan = await runCli(["cleanup", "--store", `sqlite:${db}`, "--enforce", "--plan", cfg]);
    assert.equal(badPlan.code, 2);
    assert.match(badPlan.stderr, /is not a plan written by 'holdfast cleanup --dry-run --json'/);
    // A plan file that is not there (or not a file) is named as such, not as a file of the wrong kind.
    for (const [file, reason] of [
      [join(dir, "no-such-plan.json"), "does not exist"],
      [dir, "is a directory, not a file"],
    ] as const) {
      const run = await runCli(["cleanup", "--store", `sqlite:${db}`, "--enforce", "--plan", file, "--json"]);
      assert.equal(run.code, 2, run.stderr);
      assert.deepEqual(JSON.parse(run.stderr).error, {
        code: "invalid_argument",
        message: `--plan '${file}' ${reason}; save a plan with 'holdfast cleanup --dry-run --json > plan.json'.`,
        param: "plan",
      });
    }
  });

  it("takes an ISO 8601 timestamp, a date or epoch ms; a loose date string exits 2 naming --now", async () => {
    const args = ["cleanup", "--store", `sqlite:${db}`, "--config", cfg, "--dry-run", "--json"];
    const iso = await runCli([...args, "--now", NOW]);
    assert.equal(iso.code, 0, iso.stderr);
    const epoch = await runCli([...args, "--now", String(Date.parse(NOW))]);
    assert.equal(epoch.code, 0, epoch.stderr);
    assert.deepEqual(JSON.parse(epoch.stdout), JSON.parse(iso.stdout), "epoch ms = the same instant");
    const offset = await runCli([
      ...args,
      "--now",
      "2026-01-01T04:00:00+02:00", // NOW, 2026-01-01T02:00:00Z
    ]);
    assert.equal(offset.code, 0, offset.stderr);
    assert.deepEqual(JSON.parse(offset.stdout), JSON.parse(iso.stdout), "an offset is the same instant");
    const day = await runCli([...args, "--now", NOW.slice(0, 10)]);
    assert.equal(day.code, 0, day.stderr);
    for (const loose of ["5", "2026", "Jan 1 2026", "2026-02-30", "2026-01-01T02:00:00", "123456789"]) {
      const run = await runCli([...args.slice(0, -1), "--now", loose]);
      assert.equal(run.code, 2, `--now ${loose}: ${run.stderr}`);
      assert.equal(run.stdout, "", "no plan");
      assert.match(
        run.stderr,
        /^holdfast: --now must be an ISO 8601 timestamp such as 2026-11-21T10:00:00Z .* or epoch milliseconds .*\(got '.*'\)\. \[invalid_argument\]\n$/,
      );
    }
    const json = await runCli([...args, "--now", "5"]);
    assert.equal(JSON.parse(json.stderr).error.param, "now");
  });
});

describe("holdfast cleanup --plan", () => {
  it("refuses a tampered plan before applying any of it, refuses --tenant/--now, and exits 1 when actions fail", async () => {
    const planDb = join(dir, "plan-check.db");
    let now = T0;
    const store = createSessionStore(createSqliteDriver({ path: planDb }), { clock: () => now });
    for (let i = 0; i < 3; i++) await store.create("default", { idleTtlMs: 36e5, items: [msg(`x${i}`)] });
    now += 1;
    await store.close();
    const planCfg = join(dir, "plan-check.yaml");
    writeFileSync(
      planCfg,
      `lifecycle:\n  defaults: { on_expiry: archive }\n  action_log: ${JSON.stringify(join(dir, "plan-check.jsonl"))}\n`,
    );
    const args = ["cleanup", "--store", `sqlite:${planDb}`, "--config", planCfg];
    const dry = await runCli([...args, "--now", NOW, "--dry-run", "--json"]);
    const plan = JSON.parse(dry.stdout) as CleanupPlan;
    assert.equal(plan.actions.length, 3);
    const planFile = join(dir, "tampered.json");
    const tampered: [unknown, RegExp][] = [
      [
        { ...plan, actions: [plan.actions[0], { ...plan.actions[1], action: "nuke" }] },
        /plan\.actions\[1\]\.action must be one of/,
      ],
      [
        { ...plan, actions: [plan.actions[0], { ...plan.actions[1], version: "x" }] },
        /plan\.actions\[1\]\.version must be an integer/,
      ],
      [
        { ...plan, actions: [plan.actions[0], { x: 1 }] },
        /plan\.actions\[1\]\.action must be one of .* \(got nothing\)/,
      ],
      [
        { ...plan, actions: [plan.actions[0], plan.actions[0]] },
        /plan\.actions\[1\]\.sessionId must be a session no other action names/,
      ],
    ];
    for (const [value, message] of tampered) {
      writeFileSync(planFile, JSON.stringify(value));
      const run = await runCli([...args, "--enforce", "--plan", planFile]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Nothing was applied\./);
    }
    writeFileSync(planFile, JSON.stringify(plan));
    for (const extra of [
      ["--tenant", "default"],
      ["--now", NOW],
    ]) {
      const run = await runCli([...args, "--enforce", "--plan", planFile, ...extra]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`--plan applies the saved plan as it is; ${extra[0]} cannot change it`),
      );
    }
    const check = await runCli([...args, "--now", NOW, "--dry-run", "--json"]);
    assert.deepEqual(JSON.parse(check.stdout), plan, "nothing was applied");

    // An edited plan (one action dropped) is applied with its totals recomputed.
    writeFileSync(planFile, JSON.stringify({ ...plan, actions: plan.actions.slice(1) }));
    writeFileSync(join(dir, "blocker"), "a file where the archive directory should be");
    const failed = await runCli([
      ...args,
      "--enforce",
      "--plan",
      planFile,
      "--json",
      "--archive-dir",
      join(dir, "blocker", "x"),
    ]);
    assert.equal(failed.code, 1, "failed actions are a failure");
    const out = JSON.parse(failed.stdout) as { plan: CleanupPlan; report: SweepReport };
    assert.equal(out.plan.totals.sessions, 2);
    assert.equal(out.report.errors, 2);
  });
});

/** An API key of tenant acme (a system record in `_hf_api_key`), through the real binary. */
async function createKey(store: string): Promise<void> {
  const created = await runCli(["keys", "create", "--tenant", "acme", "--scopes", "admin", "--store", store]);
  assert.equal(created.code, 0, created.stderr);
}

describe("holdfast cleanup and API keys", () => {
  it("never deletes API keys (system records) under an idle TTL or an owner limit", async () => {
    const keysDb = join(dir, "keys.db");
    const store = `sqlite:${keysDb}`;
    for (let i = 0; i < 2; i++) await createKey(store);
    const keysCfg = join(dir, "keys.yaml");
    writeFileSync(
      keysCfg,
      `lifecycle:\n  defaults: { idle_ttl: 1h, on_expiry: delete, max_sessions_per_owner: 1 }\n  action_log: ${JSON.stringify(join(dir, "keys-actions.jsonl"))}\n`,
    );
    const later = new Date(Date.now() + 365 * 864e5).toISOString();
    const run = await runCli([
      "cleanup",
      "--store",
      store,
      "--config",
      keysCfg,
      "--now",
      later,
      "--enforce",
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as { plan: CleanupPlan }).plan.actions, []);
    const list = await runCli(["keys", "list", "--tenant", "acme", "--json", "--store", store]);
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2);
  });
});

describe("holdfast cleanup --enforce --plan and API keys", () => {
  it("refuses a plan acting on an API key other than by its own expiry, naming the action, applying nothing", async () => {
    const keysDb = join(dir, "plan-keys.db");
    const store = `sqlite:${keysDb}`;
    await createKey(store);
    const opened = await createStore(store);
    const chat = await opened.create("acme", { idleTtlMs: 1, items: [msg("old")] });
    const [key] = await lifecycleDriver(opened).scanSessions({ tenant: "_hf_api_key", limit: 1 });
    await opened.close();
    assert.ok(key);
    const planCfg = join(dir, "plan-keys.yaml");
    writeFileSync(
      planCfg,
      `lifecycle:\n  defaults: { on_expiry: delete }\n  action_log: ${JSON.stringify(join(dir, "plan-keys.jsonl"))}\n`,
    );
    const args = ["cleanup", "--store", store, "--config", planCfg];
    const later = new Date(Date.now() + 864e5).toISOString();
    const dry = await runCli([...args, "--now", later, "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as CleanupPlan;
    assert.deepEqual(
      plan.actions.map((a) => a.sessionId),
      [chat.id],
    );
    const chatAction = plan.actions[0]!;
    const onKey = {
      ...chatAction,
      tenant: key.tenant,
      sessionId: key.id,
      version: key.version,
      owner: key.owner,
    };
    const planFile = join(dir, "plan-keys.json");
    for (const [action, reason, message] of [
      // What a plan saved before system records were left alone could hold.
      [
        "archive",
        "owner_limit",
        /^holdfast: --plan '.*': plan\.actions\[1\] would archive session conv_\w+ of the reserved tenant '_hf_api_key' for owner_limit: .*Nothing was applied\. \[invalid_argument\]\n$/,
      ],
      [
        "delete",
        "idle_ttl",
        /^holdfast: --plan '.*': plan\.actions\[1\] would delete .* for idle_ttl: .*this record has not expired.*Nothing was applied\. \[invalid_argument\]\n$/,
      ],
    ] as const) {
      writeFileSync(
        planFile,
        JSON.stringify({ ...plan, actions: [chatAction, { ...onKey, action, reason }] }),
      );
      const run = await runCli([...args, "--enforce", "--plan", planFile]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    }
    assert.equal(existsSync(join(dir, "plan-keys.jsonl")), false, "no action was logged");
    const again = await runCli([...args, "--now", later, "--dry-run", "--json"]);
    assert.deepEqual(JSON.parse(again.stdout), plan, "nothing was applied");
    const list = await runCli(["keys", "list", "--tenant", "acme", "--json", "--store", store]);
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 1);
  });
});

describe("holdfast cleanup on a tiered store (--store redis://… --archive postgres://…)", () => {
  const schema = uniqueSchema();
  const prefix = `hftest-${randomBytes(6).toString("hex")}`;
  const redisUrl = `${process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0"}?prefix=${prefix}`;
  const tieredCfg = join(dir, "tiered.yaml");
  after(async () => {
    const admin = new Redis(redisUrl);
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    await dropSchema(schema);
  });

  it("plans and enforces on the durable tier", async () => {
    const now = T0;
    const store = await createStore({ url: redisUrl, archive: schemaUrl(schema), clock: () => now });
    const expired = await store.create("acme", { idleTtlMs: 36e5, items: [msg("old")] });
    const live = await store.create("acme", { items: [msg("new")] });
    await store.readItems("acme", expired.id); // a hot replica
    await store.close();
    writeFileSync(
      tieredCfg,
      `lifecycle:\n  defaults: { on_expiry: delete }\n  action_log: ${JSON.stringify(join(dir, "tiered-actions.jsonl"))}\n`,
    );
    const args = ["cleanup", "--store", redisUrl, "--archive", schemaUrl(schema), "--config", tieredCfg];
    const run = await runCli([...args, "--now", NOW, "--enforce", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const { plan, report } = JSON.parse(run.stdout) as { plan: CleanupPlan; report: SweepReport };
    assert.deepEqual(
      plan.actions.map((a) => [a.sessionId, a.action]),
      [[expired.id, "delete"]],
    );
    assert.equal(report.done, 1);
    const after = await createStore({ url: redisUrl, archive: schemaUrl(schema) });
    try {
      await assert.rejects(after.get("acme", expired.id), { code: "not_found" });
      assert.equal((await after.get("acme", live.id)).itemCount, 1);
    } finally {
      await after.close();
    }
  });
});

describe("holdfast cleanup with a table archive backend", () => {
  it("archives into the configured SQLite table with zstd, and reports a bad backend with exit 2", async () => {
    const storeDb = join(dir, "table-store.db");
    const archiveDb = join(dir, "table-archives.db");
    let now = T0;
    const store = createSessionStore(createSqliteDriver({ path: storeDb }), { clock: () => now });
    const s = await store.create("acme", { idleTtlMs: 36e5, items: [msg("q"), msg("a")] });
    now += 1;
    await store.close();
    const tableCfg = join(dir, "table.yaml");
    writeFileSync(
      tableCfg,
      [
        "lifecycle:",
        "  archive:",
        "    backend: sqlite",
        `    url: ${JSON.stringify(`sqlite:${archiveDb}`)}`,
        "    compression: zstd",
        `  action_log: ${JSON.stringify(join(dir, "table-actions.jsonl"))}`,
        "",
      ].join("\n"),
    );
    const run = await runCli([
      "cleanup",
      "--store",
      `sqlite:${storeDb}`,
      "--config",
      tableCfg,
      "--now",
      NOW,
      "--enforce",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const db = new DatabaseSync(archiveDb);
    const rows = db.prepare("SELECT session_id, compression, items FROM holdfast_archives").all();
    db.close();
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [{ session_id: s.id, compression: zstdAvailable() ? "zstd" : "gzip", items: 2 }], // gzip: Node < 22.15
    );
    writeFileSync(tableCfg, "lifecycle:\n  archive: { backend: s3 }\n");
    const bad = await runCli(["cleanup", "--store", `sqlite:${storeDb}`, "--config", tableCfg, "--dry-run"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /lifecycle\.archive\.backend must be one of dir, sqlite, postgres/);
    // --archive-dir replaces the configured backend: an unreachable archive database is not opened.
    writeFileSync(
      tableCfg,
      "lifecycle:\n  archive: { backend: postgres, url: 'postgres://x@127.0.0.1:1/none' }\n",
    );
    const unreachable = ["cleanup", "--store", `sqlite:${storeDb}`, "--config", tableCfg, "--dry-run"];
    assert.equal((await runCli(unreachable)).code, 5, "the configured backend is opened at start-up");
    const overridden = await runCli([...unreachable, "--archive-dir", join(dir, "override")]);
    assert.equal(overridden.code, 0, overridden.stderr);
  });
});
