/**
 * What compaction spent, in a real browser (Debian's Chromium via playwright-core): a session's
 * turns show the summarizer calls of the compaction a turn triggered beside its own cost, and the
 * session's and the Usage view's totals include them — the same total as
 * `GET /v1/conversations/{id}/usage`. They used to show the turns' own `cost_usd` only.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { conversationUsage } from "../../src/engine/turn/usage.ts";
import { createServer } from "../../src/server/create-server.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { JsonObject, SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { launchChromium, listenBase, signIn } from "./browser.ts";

const ADMIN_KEY = "dashboard-test-admin-key-0003";

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let sessionId: string;

function record(cost: number, compaction?: JsonObject): JsonObject {
  return {
    type: "response_record",
    status: "completed",
    model: "gpt-4o-mini",
    served_by: { provider: "openai", model: "gpt-4o-mini" },
    created_at: Math.floor(Date.now() / 1000),
    usage: { input_tokens: 500, output_tokens: 20, cached_tokens: 0 },
    cost_usd: cost,
    output_item_ids: [],
    ...(compaction ? { compaction } : {}),
  };
}

before(async () => {
  store = await createStore("memory:");
  const session = await store.create("default", { owner: "compacted" });
  sessionId = session.id;
  await store.append("default", session.id, [
    { content: { type: "message", role: "user", content: "First question" } },
    { id: "resp_plain", content: record(0.001) },
    { content: { type: "message", role: "user", content: "Second question, after a compaction" } },
    {
      id: "resp_compacted",
      content: record(0.002, {
        calls: 2,
        model: "gpt-4o-mini",
        served_by: { provider: "openai", model: "gpt-4o-mini" },
        input_tokens: 2000,
        output_tokens: 400,
        cached_tokens: 0,
        cost_usd: 0.00054,
      }),
    },
  ]);
  app = await createServer({ store });
  registerDashboard(app, { store, adminKey: ADMIN_KEY, host: "127.0.0.1", env: {} });
  base = await listenBase(app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
});

/** The `<dd>` after the `<dt>` named `label` in the view's facts. */
const fact = (page: Page, label: string) =>
  page
    .locator("dl.facts dt", { hasText: new RegExp(`^${label}$`) })
    .locator("xpath=following-sibling::dd[1]");

test("a session's turns and the Usage view show compaction spend, in totals as the usage route", async () => {
  // What `GET /v1/conversations/{id}/usage` answers (the route serves this ledger as it is).
  const { total } = await conversationUsage(store, "default", sessionId);
  assert.equal(Number(total.cost_usd.toFixed(5)), 0.00354);
  assert.equal(total.compaction.cost_usd, 0.00054);

  const page = await browser.newPage();
  try {
    await signIn(page, base, ADMIN_KEY);
    await page.goto(`${base}/ui/#/session/${sessionId}`);
    await page.getByRole("heading", { name: sessionId }).waitFor();
    const rows = page.locator("table:has(caption:text('Turns')) tbody tr");
    assert.equal(await rows.count(), 2);
    const compacted = rows.filter({ hasText: "resp_compacted" });
    await compacted.getByRole("cell", { name: "$0.00054 (2 calls, 2,000 in / 400 out)" }).waitFor();
    await compacted.getByRole("cell", { name: "$0.00200" }).waitFor(); // its own call, apart
    assert.equal(await rows.filter({ hasText: "resp_plain" }).getByRole("cell", { name: "—" }).count(), 1);
    const foot = page.locator("table:has(caption:text('Turns')) tfoot tr");
    await foot.getByRole("cell", { name: "$0.00354" }).waitFor();
    await foot.getByRole("cell", { name: "$0.00054 (2 calls)" }).waitFor();
    await foot.getByRole("cell", { name: "3,000" }).waitFor(); // input: 500 + 500 + 2,000 summarized
    assert.equal(await fact(page, "Cost").textContent(), "$0.00354");
    assert.equal(await fact(page, "Compaction").textContent(), "$0.00054 (2 summarizer calls)");

    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    assert.equal(await fact(page, "Cost").textContent(), "$0.00354");
    assert.equal(await fact(page, "Compaction").textContent(), "$0.00054 (2 summarizer calls)");
    assert.equal(await fact(page, "Tokens").textContent(), "3,440");
    const top = page.locator("tbody tr", { has: page.getByRole("link", { name: sessionId }) });
    await top.getByRole("cell", { name: "$0.00354" }).waitFor();
    await top.getByRole("cell", { name: "$0.00054" }).waitFor();
  } finally {
    await page.close();
  }
});
