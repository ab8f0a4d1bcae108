/**
 * `holdfast cleanup --dry-run --json --tenant t --now n` and the admin preview route
 * `GET /v1/admin/cleanup/plan?now=n` of `holdfast serve` (for a key of tenant t) over the same
 * store and configuration report the same plan: the same actions, totals, pinned sessions, usage
 * and warnings — only the route's `object` field differs. Seeded so every rule acts: idle and
 * absolute TTLs, a metadata override (and an invalid one), an owner over its limit, a tenant over
 * its budget, pinned sessions (one keeping an owner over its limit), a daily reset. Without
 * `--tenant` the CLI plans every tenant and the global budget, which the route never evaluates.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CleanupPlan } from "../../lifecycle/index.ts";
import { createSessionStore } from "../../store/core.ts";
import { createSqliteDriver } from "../../store/drivers/sqlite.ts";
import { type RunningServer, runCli, startServe } from "../cli-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "holdfast-cleanup-parity-"));
const db = join(dir, "store.db");
const cfg = join(dir, "holdfast.yaml");
const HOUR = 36e5;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 1, 6);
const NOW = T0 + 10 * DAY;
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

interface Seed {
  tenant: string;
  at: number;
  activeAt?: number;
  owner?: string;
  pinned?: boolean;
  metadata?: Record<string, string>;
  size?: number;
}

/** Sessions meant for each rule; comments name the rule at NOW (T0 + 10 days). */
const SEEDS: Seed[] = [
  { tenant: "default", at: T0 }, // idle_ttl (7d)
  { tenant: "default", at: T0 + 8 * DAY, activeAt: NOW - HOUR, metadata: { "lifecycle.absolute_ttl": "1d" } },
  { tenant: "default", at: T0 + 9 * DAY, metadata: { "lifecycle.idle_ttl": "soon" } }, // a warning
  // ann: 3 active sessions and a pinned one over a limit of 2 → the 2 least recently active go.
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - 5 * HOUR, owner: "ann" },
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - 4 * HOUR, owner: "ann" },
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - 3 * HOUR, owner: "ann" },
  { tenant: "default", at: T0 + 9 * DAY, owner: "ann", pinned: true },
  // bob: 3 pinned sessions over the limit of 2 → a warning.
  { tenant: "default", at: T0 + 9 * DAY, owner: "bob", pinned: true },
  { tenant: "default", at: T0 + 9 * DAY, owner: "bob", pinned: true },
  { tenant: "default", at: T0 + 9 * DAY, owner: "bob", pinned: true },
  // Big and live: the tenant budget evicts the least recently active of them.
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - 2 * HOUR, size: 20_000 },
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - HOUR, size: 20_000 },
  { tenant: "default", at: T0 + 9 * DAY, activeAt: NOW - 30 * 60_000, size: 20_000 },
  // acme: delete on expiry, a daily reset at 04:00 UTC.
  { tenant: "acme", at: T0 }, // idle_ttl → delete
  { tenant: "acme", at: T0 + 9 * DAY, activeAt: NOW - HOUR, owner: "cy" }, // reset_schedule
  { tenant: "acme", at: NOW - HOUR, owner: "cy" }, // created after the reset: kept
  { tenant: "acme", at: T0 + 9 * DAY, pinned: true, size: 5_000 },
];

let keys: Record<string, string>;
let server: RunningServer;

before(async () => {
  let now = T0;
  const store = createSessionStore(createSqliteDriver({ path: db }), { clock: () => now });
  for (const s of SEEDS) {
    now = s.at;
    const text = s.size ? "x".repeat(s.size) : "hi";
    const created = await store.create(s.tenant, {
      ...(s.owner ? { owner: s.owner } : {}),
      ...(s.pinned ? { pinned: true } : {}),
      ...(s.metadata ? { metadata: s.metadata } : {}),
      items: [msg(text), msg("a")],
    });
    if (s.activeAt !== undefined) {
      now = s.activeAt;
      await store.append(s.tenant, created.id, [msg("later")]);
    }
  }
  await store.close();
  writeFileSync(
    cfg,
    [
      "lifecycle:",
      "  defaults:",
      "    idle_ttl: 7d",
      "    on_expiry: archive",
      "    max_sessions_per_owner: 2",
      "    storage_budget: 50kb",
      "  tenants:",
      "    acme: { on_expiry: delete, storage_budget: off, reset: { hour: 4 } }",
      "  global_budget: 25kb",
      "  archive:",
      `    dir: ${JSON.stringify(join(dir, "archives"))}`,
      `  action_log: ${JSON.stringify(join(dir, "actions.jsonl"))}`,
      // The background sweeper must not act while the plans are compared.
      "  sweeper: { interval: 1h }",
      "",
    ].join("\n"),
  );
  keys = {};
  for (const tenant of ["default", "acme"]) {
    const res = await runCli([
      "keys",
      "create",
      "--tenant",
      tenant,
      "--scopes",
      "admin",
      "--store",
      `sqlite:${db}`,
      "--json",
    ]);
    assert.equal(res.code, 0, res.stderr);
    keys[tenant] = (JSON.parse(res.stdout) as { secret: string }).secret;
  }
  server = await startServe(["--port", "0", "--store", `sqlite:${db}`, "--config", cfg]);
});

after(async () => {
  server?.child.kill("SIGTERM");
  if (server) await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

async function cliPlan(...flags: string[]): Promise<CleanupPlan> {
  const res = await runCli([
    "cleanup",
    "--dry-run",
    "--json",
    "--store",
    `sqlite:${db}`,
    "--config",
    cfg,
    "--now",
    String(NOW),
    ...flags,
  ]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as CleanupPlan;
}

async function routePlan(tenant: string): Promise<CleanupPlan> {
  const res = await fetch(`${server.url}/v1/admin/cleanup/plan?now=${NOW}`, {
    headers: { authorization: `Bearer ${keys[tenant]}` },
  });
  const body = (await res.json()) as CleanupPlan & { object?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  // The one field that legitimately differs: the route's answer names its object type.
  assert.equal(body.object, "cleanup.plan");
  const { object: _object, ...plan } = body;
  return plan;
}

describe("holdfast cleanup --dry-run --json and GET /v1/admin/cleanup/plan agree", () => {
  it("for tenant default: every rule acts, and both report the same plan", async () => {
    const cli = await cliPlan("--tenant", "default");
    const reasons = new Set(cli.actions.map((a) => a.reason));
    for (const reason of ["idle_ttl", "absolute_ttl", "owner_limit", "tenant_budget"]) {
      assert.ok(reasons.has(reason as never), `the seed exercises ${reason}: ${[...reasons].join(", ")}`);
    }
    assert.equal(cli.pinned.sessions, 4);
    assert.ok(cli.warnings.some((w) => /lifecycle\.idle_ttl/.test(w)));
    assert.ok(cli.warnings.some((w) => /owner bob .* the rest are pinned/.test(w)));
    assert.ok(cli.warnings.some((w) => /global budget is only evaluated when planning every tenant/.test(w)));
    assert.deepEqual(await routePlan("default"), cli);
  });

  it("for tenant acme (delete on expiry, a daily reset): the same plan", async () => {
    const cli = await cliPlan("--tenant", "acme");
    assert.deepEqual(
      cli.actions.map((a) => [a.action, a.reason]),
      [
        ["delete", "idle_ttl"],
        ["reset", "reset_schedule"],
      ],
    );
    assert.deepEqual(await routePlan("acme"), cli);
  });

  it("without --tenant the CLI plans every tenant and the global budget, which the route never evaluates", async () => {
    const all = await cliPlan();
    assert.equal(all.tenant, null);
    assert.ok(
      all.actions.some((a) => a.reason === "global_budget"),
      `the global budget evicts more than the tenant plans do: ${JSON.stringify(all.usage)}`,
    );
    const perTenant = [...(await routePlan("default")).actions, ...(await routePlan("acme")).actions];
    const key = (a: { tenant: string; sessionId: string }) => `${a.tenant}/${a.sessionId}`;
    // Every action a tenant's plan lists, the full plan lists too (same action, same reason).
    const full = new Map(all.actions.map((a) => [key(a), `${a.action}:${a.reason}`]));
    for (const a of perTenant) assert.equal(full.get(key(a)), `${a.action}:${a.reason}`, key(a));
    assert.equal(
      all.actions.length,
      perTenant.length + all.actions.filter((a) => a.reason === "global_budget").length,
    );
  });
});
