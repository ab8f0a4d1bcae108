/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against the server
 * in-process on 127.0.0.1:0 with a seeded memory store. Screenshots go to test-artifacts/ui/.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { type Browser, chromium, type Page } from "playwright-core";
import { createMetrics } from "../../src/observability/create-metrics.ts";
import { registerMetrics } from "../../src/observability/metrics.ts";
import { withStoreMetrics } from "../../src/observability/store-metrics.ts";
import { createServer } from "../../src/server/create-server.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { type Seeded, seedDashboardStore } from "../../src/ui/test-seed.ts";

const CHROMIUM = process.env.HOLDFAST_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts", "ui");
const ADMIN_KEY = "dashboard-test-admin-key-0001";

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let seeded: Seeded;

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set HOLDFAST_CHROMIUM).`,
  );
  await mkdir(ARTIFACTS, { recursive: true });
  const metrics = createMetrics();
  const raw = await createStore("memory:");
  seeded = await seedDashboardStore(raw);
  store = withStoreMetrics(raw, metrics);
  app = await createServer({ store });
  registerMetrics(app, { metrics });
  registerDashboard(app, {
    store,
    adminKey: ADMIN_KEY,
    host: "127.0.0.1",
    metrics,
    upstreams: { breakerStates: () => ({ "openai-main": "closed", "anthropic-backup": "open" }) },
    cleanupPlan: async (tenant) => ({ tenant, dryRun: true, sessionsToDelete: 3, bytesToFree: 12345 }),
    env: {},
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === "object");
  base = `http://127.0.0.1:${address.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
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
    const rows = page.locator("tbody tr");
    assert.equal(await rows.count(), seeded.sessionIds.length);
    await shot(page, "02-sessions");

    await page.getByLabel("Owner").fill("alice");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    await page.getByRole("link", { name: seeded.chatId }).click();
    await page.getByRole("heading", { name: seeded.chatId }).waitFor();
    const transcript = page.getByRole("list", { name: "Transcript" });
    await transcript.getByText("What is the weather in Lisbon?").waitFor();
    await transcript.getByText("It is 21 °C and clear in Lisbon.").waitFor();
    await transcript.getByText(/Summary — replaces #2–#5/).waitFor();
    // The tool output is folded under its call until opened.
    const output = transcript.getByText('{"temp_c":21,"sky":"clear"}');
    assert.equal(await output.isVisible(), false);
    await transcript.getByText(/get_weather/).click();
    await output.waitFor({ state: "visible" });
    const turnRows = page.getByRole("table").filter({ hasText: "resp_1" }).locator("tbody tr");
    assert.equal(await turnRows.count(), 2);
    await page.getByRole("cell", { name: "$0.00430" }).waitFor(); // total cost of the two turns
    await shot(page, "03-session");

    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    const chart = page.getByRole("img", { name: /Cost per day by model/ });
    await chart.waitFor();
    assert.ok((await chart.locator("rect.bar").count()) >= 3, "bars are drawn");
    await page.getByRole("list").filter({ hasText: "claude-sonnet" }).waitFor();
    await shot(page, "04-usage");

    await page.getByRole("link", { name: "Cleanup" }).click();
    await page.getByText('"sessionsToDelete": 3').waitFor();
    await shot(page, "05-cleanup");
    await page.getByRole("link", { name: "Upstreams" }).click();
    await page.getByRole("cell", { name: "anthropic-backup" }).waitFor();
    await shot(page, "06-upstreams");

    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${base}/ui/#/session/${seeded.chatId}`);
    await page.getByRole("heading", { name: seeded.chatId }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal page scroll on a narrow window (overflow ${overflow}px)`);
    await shot(page, "07-narrow-session");

    assert.deepEqual(problems, [], "no console errors or CSP violations");
  } finally {
    await context.close();
  }
});
