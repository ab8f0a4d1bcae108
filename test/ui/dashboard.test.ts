/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against the server
 * in-process on 127.0.0.1:0 with a seeded memory store. Screenshots go to test-artifacts/ui/.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { createArchiver } from "../../src/lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../src/lifecycle/policy.ts";
import { createSweeper } from "../../src/lifecycle/sweeper.ts";
import { createMetrics } from "../../src/observability/create-metrics.ts";
import { registerMetrics } from "../../src/observability/metrics.ts";
import { withStoreMetrics } from "../../src/observability/store-metrics.ts";
import { observeSweeper } from "../../src/observability/sweeper-metrics.ts";
import { createServer } from "../../src/server/create-server.ts";
import { createSessionStore } from "../../src/store/core.ts";
import { createMemoryDriver } from "../../src/store/drivers/memory.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { type Seeded, seedDashboardStore } from "../../src/ui/test-seed.ts";
import { launchChromium, listenBase } from "./browser.ts";

const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts", "ui");
const ADMIN_KEY = "dashboard-test-admin-key-0001";

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let seeded: Seeded;
let archiveDir: string;
const STALE = 3;
/** Markup and script URLs stored by users or models: every view must show them as text. */
const XSS = "<img src=x onerror=window.__xss=1>";
const JS_URL = "javascript:window.__xss=2";

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  const metrics = createMetrics();
  // A clock that can be set back: the stale sessions are created two days ago.
  const clock = { offset: -2 * 86_400_000 };
  const raw = createSessionStore(createMemoryDriver(), { clock: () => Date.now() + clock.offset });
  for (let i = 0; i < STALE; i++) {
    await raw.create("default", {
      owner: "eve",
      items: [{ content: { type: "message", role: "user", content: "old" } }],
    });
  }
  clock.offset = 0;
  seeded = await seedDashboardStore(raw);
  store = withStoreMetrics(raw, metrics);
  archiveDir = await mkdtemp(join(tmpdir(), "holdfast-ui-archive-"));
  const archiver = createArchiver(store, { dir: archiveDir });
  const sweeper = createSweeper({
    store,
    policy: parseLifecyclePolicy({ defaults: { idle_ttl: "1d" } }),
    archiver,
  });
  observeSweeper(sweeper, metrics);
  app = await createServer({ store });
  registerMetrics(app, { metrics });
  registerDashboard(app, {
    store,
    adminKey: ADMIN_KEY,
    host: "127.0.0.1",
    metrics,
    upstreams: {
      breakerStates: () => ({ "openai-main": "closed", "anthropic-backup": "open", [XSS]: "half-open" }),
    },
    sweeper,
    env: {},
  });
  base = await listenBase(app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  if (archiveDir) await rm(archiveDir, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

test("sign in, sessions, a transcript, usage chart, cleanup plan and upstreams", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  try {
    await page.goto(`${base}/ui/`);
    await page.getByLabel("Admin key").fill("wrong-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong admin key" }).waitFor();
    problems.length = 0; // the browser logs the deliberate 401 above
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await shot(page, "01-sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === "holdfast_ui");
    assert.ok(cookie, "session cookie set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.secure, false, "plain-http loopback omits Secure");
    // Keyboard: the first Tab reaches the skip link, Enter moves focus into the main region.
    await page.reload();
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
    const rows = page.locator("tbody tr");
    assert.equal(await rows.count(), seeded.sessionIds.length + STALE);
    await shot(page, "02-sessions");

    // Sorting is the store's: by size, largest first, then smallest first (keyboard on the header).
    const firstId = () => page.locator("tbody tr").first().locator("a").first().textContent();
    const sizeHeader = page.getByRole("columnheader", { name: /Size/ });
    await sizeHeader.getByRole("button").click();
    await page.waitForFunction(() => location.hash.includes("sort=bytes"));
    await page.locator('th[aria-sort="descending"]', { hasText: "Size" }).waitFor();
    assert.equal(await firstId(), seeded.chatId, "the biggest session first");
    await sizeHeader.getByRole("button").focus();
    await page.keyboard.press("Enter");
    await page.locator('th[aria-sort="ascending"]', { hasText: "Size" }).waitFor();
    const smallest = (await store.list("default", { sort: "bytes", order: "asc", limit: 1 })).data[0]!;
    assert.equal(await firstId(), smallest.id);
    await shot(page, "02b-sessions-by-size");
    // Across pages: 5 rows a page, items ascending; page 2 continues where page 1 ended.
    await page.goto(`${base}/ui/#/sessions?sort=items&order=asc&limit=5`);
    const byItems = (await store.list("default", { sort: "items", order: "asc", limit: 10 })).data;
    await page.locator("tbody tr").first().waitFor();
    const pageIds = () => page.locator("tbody tr td:first-child a").allTextContents();
    assert.deepEqual(
      await pageIds(),
      byItems.slice(0, 5).map((s) => s.id),
    );
    await page.getByRole("button", { name: "Next →" }).click();
    await page.waitForFunction((id) => !document.body.textContent?.includes(id), byItems[0]!.id);
    assert.deepEqual(
      await pageIds(),
      byItems.slice(5, 10).map((s) => s.id),
    );
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.getByRole("link", { name: byItems[0]!.id }).waitFor();

    // Filters: model (checks the sessions' turn records), size and age.
    await page.goto(`${base}/ui/#/sessions`);
    await page.getByLabel("Model").fill("claude-sonnet-4-5");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText(/Model filter: checked \d+ sessions/).waitFor();
    assert.equal(await page.locator("tbody tr").count(), 7, "the chat and six filler sessions used it");
    await shot(page, "02c-sessions-model-filter");
    await page.getByLabel("Model").fill("");
    await page.getByLabel("Size at least").selectOption("1024");
    await page.getByRole("button", { name: "Apply" }).click();
    const big = (await store.list("default", { minBytes: 1024, limit: 100 })).data.length;
    assert.ok(big > 0 && big < seeded.sessionIds.length);
    await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length === n, big);
    await page.getByLabel("Size at least").selectOption("");
    await page.getByLabel("Created before").selectOption("24");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForFunction((n) => document.querySelectorAll("tbody tr").length === n, STALE);
    await shot(page, "02d-sessions-created-before");
    await page.getByLabel("Created before").selectOption("");

    await page.getByLabel("Owner").fill("alice");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    await page.getByRole("link", { name: seeded.chatId }).click();
    await page.getByRole("heading", { name: seeded.chatId }).waitFor();
    const transcript = page.getByRole("list", { name: "Transcript" });
    await transcript.getByText("What is the weather in Lisbon?").waitFor();
    await transcript.getByText("It is 21 °C and clear in Lisbon.").waitFor();
    await transcript.getByText(/Summary — replaces #2–#5/).waitFor();
    const windowSummary = await page.locator(".window-summary").textContent();
    assert.match(
      windowSummary ?? "",
      /for claude-sonnet-4-5: 4 items sent, 4 stored items left out \(a summary stands in/,
    );
    // The tool output is folded under its call until opened.
    const output = transcript.getByText('{"temp_c":21,"sky":"clear"}');
    assert.equal(await output.isVisible(), false);
    await transcript.getByText(/get_weather/).click();
    await output.waitFor({ state: "visible" });
    const turnRows = page.getByRole("table").filter({ hasText: "resp_1" }).locator("tbody tr");
    assert.equal(await turnRows.count(), 2);
    await page.getByRole("cell", { name: "$0.00430" }).waitFor(); // total cost of the two turns
    await shot(page, "03-session");

    // Forks: the child fork is listed and links to it; the fork links back to its parent.
    const forks = page.getByRole("list", { name: "Forks of this session" });
    await forks.getByRole("link", { name: seeded.forkId }).click();
    await page.getByRole("heading", { name: seeded.forkId }).waitFor();
    await page.getByText("No forks of this session.").waitFor();
    await page.getByRole("region", { name: "Forks" }).getByRole("link", { name: seeded.chatId }).click();
    await page.getByRole("heading", { name: seeded.chatId }).waitFor();

    // Compact, behind a confirmation: Cancel changes nothing, Compact now appends a summary.
    const itemsBefore = (await store.get("default", seeded.chatId)).itemCount;
    await page.getByLabel("Keep recent tokens").fill("1");
    await page.getByRole("button", { name: "Compact…" }).click();
    const compactDialog = page.getByRole("dialog", { name: "Compact this session?" });
    await compactDialog.waitFor();
    await shot(page, "03b-compact-confirm");
    await compactDialog.getByRole("button", { name: "Cancel" }).click();
    await compactDialog.waitFor({ state: "hidden" });
    assert.equal((await store.get("default", seeded.chatId)).itemCount, itemsBefore);
    await page.getByRole("button", { name: "Compact…" }).click();
    await compactDialog.getByRole("button", { name: "Compact now" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /Compacted: [\d,]+ → [\d,]+ tokens/ })
      .waitFor();
    assert.equal((await store.get("default", seeded.chatId)).itemCount, itemsBefore + 1);
    await page.locator(`.msg.summary[data-seq="${itemsBefore + 1}"]`).waitFor();
    await shot(page, "03c-compacted");

    // Export, Fork and Delete work from the browser too.
    const exportHref = await page.getByRole("link", { name: "Export JSONL" }).getAttribute("href");
    const exported = await page.request.get(`${base}${exportHref}`);
    assert.equal(exported.status(), 200);
    assert.ok((await exported.text()).includes("Lisbon"));
    await page.getByRole("button", { name: "Fork", exact: true }).click();
    await page.waitForFunction(
      (id) =>
        /^conv_/.test(document.querySelector("h1")?.textContent ?? "") &&
        !document.querySelector("h1")?.textContent?.includes(id),
      seeded.chatId,
    );
    const forkedId = (await page.locator("h1").textContent()) ?? "";
    assert.notEqual(forkedId, seeded.chatId);
    assert.equal((await store.get("default", forkedId)).forkParent?.sessionId, seeded.chatId);
    // Fork and Delete open another view: their result stays on the status line across that
    // navigation (the view is rendered by now), and the next navigation clears it.
    const status = page.locator("#status");
    assert.equal(await status.textContent(), `Forked into ${forkedId}.`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    await page.locator("tbody tr").first().waitFor();
    assert.equal(await status.textContent(), `Deleted ${forkedId}.`);
    await assert.rejects(store.get("default", forkedId), { code: "not_found" });

    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    assert.equal(await status.textContent(), "", "the next navigation clears it");
    const chart = page.getByRole("img", { name: /Cost per day by model/ });
    await chart.waitFor();
    assert.ok((await chart.locator("rect.bar").count()) >= 3, "bars are drawn");
    await page.getByRole("list").filter({ hasText: "claude-sonnet" }).waitFor();
    await shot(page, "04-usage");

    await page.getByRole("link", { name: "Cleanup" }).click();
    await page.getByRole("heading", { name: "Cleanup", level: 1 }).waitFor();
    const planRows = page.getByRole("table").filter({ hasText: "Reason" }).last().locator("tbody tr");
    await planRows.first().waitFor();
    assert.equal(await planRows.count(), STALE, "the dry run plans the three stale sessions");
    await shot(page, "05-cleanup-plan");
    await page.getByRole("button", { name: "Enforce…" }).click();
    const dialog = page.getByRole("dialog", { name: "Enforce the cleanup plan?" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: "Enforce…" }).click();
    await dialog.getByRole("button", { name: "Enforce now" }).click();
    await page.getByText(`Done: ${STALE} of ${STALE} actions`).first().waitFor();
    await shot(page, "06-cleanup-enforced");
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    assert.ok(metricsText.includes(`holdfast_sweeper_actions_total{action="archive"} ${STALE}`));
    await page.getByRole("link", { name: "Upstreams" }).click();
    await page.getByRole("cell", { name: "anthropic-backup" }).waitFor();
    await shot(page, "07-upstreams");

    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${base}/ui/#/session/${seeded.chatId}`);
    await page.getByRole("heading", { name: seeded.chatId }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal page scroll on a narrow window (overflow ${overflow}px)`);
    await shot(page, "08-narrow-session");
    await page.goto(`${base}/ui/#/sessions?sort=updated`);
    await page.locator("tbody tr").first().waitFor();
    const listOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(listOverflow <= 1, `the sessions list fits a narrow window too (overflow ${listOverflow}px)`);
    await shot(page, "09-narrow-sessions");

    assert.deepEqual(problems, [], "no console errors or CSP violations");
  } finally {
    await context.close();
  }
});

test("stored markup and javascript: URLs are shown as text in every view, never run", async () => {
  const hostile = await store.create("default", {
    owner: `${XSS}"'`,
    labels: ["xss-probe"],
    metadata: { note: XSS, link: JS_URL, "<b>key</b>": `<script>window.__xss=3</script>` },
  });
  await store.append("default", hostile.id, [
    {
      content: {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: `${XSS}<svg onload=window.__xss=4>` },
          { type: "input_image", image_url: JS_URL },
        ],
      },
    },
    {
      id: "fc_x",
      content: { type: "function_call", name: XSS, call_id: "call_x", arguments: `{"a":"${JS_URL}"}` },
    },
    { content: { type: "function_call_output", call_id: "call_x", output: XSS } },
    { content: { type: `${XSS}`, text: XSS } },
    {
      id: "resp_x",
      content: {
        type: "response_record",
        status: "failed",
        model: XSS,
        served_by: { provider: XSS, model: XSS },
        created_at: Math.floor(Date.now() / 1000),
        usage: { input_tokens: 5, output_tokens: 1, cached_tokens: 0 },
        cost_usd: 0.001,
        output_item_ids: [],
        error: { code: "upstream_error", message: XSS },
      },
    },
  ]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  const probe = async (where: string): Promise<void> => {
    assert.equal(await page.evaluate(() => (window as { __xss?: unknown }).__xss), undefined, where);
    const injected = await page.evaluate(
      () =>
        document.querySelectorAll(
          "main img, main svg[onload], main script, [onerror], a[href^='javascript:' i], [src^='javascript:' i]",
        ).length,
    );
    assert.equal(injected, 0, `no element built from stored markup in ${where}`);
  };
  try {
    await page.goto(`${base}/ui/`);
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    await page.getByText(`${XSS}"'`).first().waitFor();
    await probe("sessions");
    await page.goto(`${base}/ui/#/session/${hostile.id}`);
    await page.getByRole("heading", { name: hostile.id }).waitFor();
    for (const literal of [
      `${XSS}<svg onload=window.__xss=4>`,
      `${XSS}(`,
      JS_URL,
      // The session's metadata, keys and values as text.
      `note=${XSS}`,
      `<b>key</b>=<script>window.__xss=3</script>`,
    ]) {
      await page.getByText(literal, { exact: false }).first().waitFor();
    }
    // Closed <details> hide tool calls: open every one so their content is rendered too.
    await page.evaluate(() => {
      document.querySelectorAll("details").forEach((d) => {
        d.open = true;
      });
    });
    await probe("session");
    // A malformed escape in the hash is an unknown session, not a URIError.
    await page.goto(`${base}/ui/#/session/%E0%A4%A`);
    await page.getByRole("alert").getByText("No session '%E0%A4%A'").waitFor();
    for (const [hash, heading] of [
      ["#/usage", "Usage"],
      ["#/cleanup", "Cleanup"],
      ["#/upstreams", "Upstreams"],
    ] as const) {
      await page.goto(`${base}/ui/${hash}`);
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      await page.waitForLoadState("networkidle");
      await probe(heading);
    }
    await page.getByRole("cell", { name: XSS }).waitFor();
    await shot(page, "10-stored-markup");
    assert.deepEqual(problems, [], "no page errors");
  } finally {
    await context.close();
    await store.delete("default", hostile.id);
  }
});

test("a transcript too big for one answer says how many older items it left out", async () => {
  // 80 messages of about 38 KB (two UTF-8 bytes a character): past the answer's byte budget.
  const big = await store.create("default", { labels: ["big-transcript"] });
  await store.append(
    "default",
    big.id,
    Array.from({ length: 80 }, (_, i) => ({
      tokens: 1,
      content: { type: "message", role: "user", content: `#${i + 1} ${"é".repeat(19_000)}` },
    })),
  );
  const page = await browser.newPage();
  try {
    await page.goto(`${base}/ui/`);
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
    await page.goto(`${base}/ui/#/session/${big.id}`);
    await page.getByRole("heading", { name: big.id }).waitFor();
    const shown = await page.locator(".chat > li").count();
    assert.ok(shown > 0 && shown < 80, `${shown} items shown`);
    const note = await page.locator("#transcript-omitted").textContent();
    assert.match(
      note ?? "",
      new RegExp(`^${80 - shown} older items are not shown.*Export JSONL has every item`),
    );
    await page.locator(`.msg[data-seq="80"]`).waitFor();
    await page.getByText("Cost (items shown)").waitFor();
  } finally {
    await page.close();
    await store.delete("default", big.id);
  }
});
