/**
 * The dashboard with two tenants, in a real browser (Debian's Chromium via playwright-core):
 * the tenant picker shows the tenant just picked, and Usage's top sessions (every tenant's) open
 * in their own tenant.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, Page, Route } from "playwright-core";
import { createServer } from "../../src/server/create-server.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { type Seeded, seedDashboardStore } from "../../src/ui/test-seed.ts";
import { launchChromium, listenBase, signIn as signInAs } from "./browser.ts";

const ADMIN_KEY = "dashboard-test-admin-key-0002";

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let seeded: Seeded;
let acmeId: string;

before(async () => {
  store = await createStore("memory:");
  seeded = await seedDashboardStore(store, Date.now(), 2);
  const acme = await store.create("acme", { owner: "acme-owner" });
  acmeId = acme.id;
  await store.append("acme", acme.id, [
    { content: { type: "message", role: "user", content: "Hello from acme" } },
    {
      id: "resp_acme",
      content: {
        type: "response_record",
        status: "completed",
        model: "gpt-4o",
        created_at: Math.floor(Date.now() / 1000),
        usage: { input_tokens: 90_000, output_tokens: 10, cached_tokens: 0 },
        // The costliest session of all tenants: first in Usage's top sessions.
        cost_usd: 9.5,
        output_item_ids: [],
      },
    },
  ]);
  app = await createServer({ store });
  registerDashboard(app, {
    store,
    adminKey: ADMIN_KEY,
    host: "127.0.0.1",
    tenants: () => ["default", "acme"],
    env: {},
  });
  base = await listenBase(app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
});

const signIn = (page: Page) => signInAs(page, base, ADMIN_KEY);

const rowIds = (page: Page) => page.locator("tbody tr td:first-child a").allTextContents();

test("picking a tenant shows that tenant's sessions, not the one picked before", async () => {
  const page = await browser.newPage();
  try {
    await signIn(page);
    assert.ok((await rowIds(page)).includes(seeded.chatId));
    await page.getByLabel("Tenant").selectOption("acme");
    await page.getByRole("link", { name: acmeId }).waitFor({ timeout: 5000 });
    assert.deepEqual(await rowIds(page), [acmeId]);
    await page.getByLabel("Tenant").selectOption("default");
    await page.getByRole("link", { name: seeded.chatId }).waitFor({ timeout: 5000 });
    assert.ok(!(await rowIds(page)).includes(acmeId));
  } finally {
    await page.close();
  }
});

test("Usage's top sessions open in their own tenant", async () => {
  const page = await browser.newPage();
  try {
    await signIn(page);
    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();
    await page.getByRole("link", { name: acmeId }).click();
    await page.getByRole("heading", { name: acmeId }).waitFor({ timeout: 5000 });
    await page.getByText("Hello from acme").waitFor();
    assert.equal(await page.getByLabel("Tenant").inputValue(), "acme", "the picker follows the link");
    // A default-tenant session from the same table opens in the default tenant again.
    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("link", { name: seeded.chatId }).click();
    await page.getByRole("heading", { name: seeded.chatId }).waitFor({ timeout: 5000 });
    assert.equal(await page.getByLabel("Tenant").inputValue(), "default");
  } finally {
    await page.close();
  }
});

test("a view that answers late never replaces the tenant or view picked after it", async () => {
  const page = await browser.newPage();
  try {
    await signIn(page);
    // The default tenant's list answers slowly (a big store, a slow disk): the real server
    // answers, the browser holds the answer back 1.5 s.
    const slow = async (route: Route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
    };
    await page.route(/\/ui\/api\/sessions\?(.*&)?tenant=default(&|$)/, slow);
    await page.getByRole("link", { name: "Usage" }).click();
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor();

    // Sessions of `default` still loading when the operator picks `acme`.
    const late = page.waitForResponse(/\/ui\/api\/sessions\?(.*&)?tenant=default(&|$)/);
    await page.getByRole("link", { name: "Sessions" }).click();
    await page.getByLabel("Tenant").selectOption("acme");
    await page.getByRole("link", { name: acmeId }).waitFor({ timeout: 5000 });
    await (await late).finished();
    await page.waitForTimeout(200); // the late answer's render would run now
    assert.equal(await page.getByLabel("Tenant").inputValue(), "acme");
    assert.deepEqual(await rowIds(page), [acmeId], "acme's sessions stay, default's late list is dropped");

    // The same with another view: Upstreams opened while default's Sessions still load.
    await page.getByLabel("Tenant").selectOption("default");
    const late2 = page.waitForResponse(/\/ui\/api\/sessions\?(.*&)?tenant=default(&|$)/);
    await page.getByRole("link", { name: "Upstreams" }).click();
    await page.getByRole("heading", { name: "Upstreams", level: 1 }).waitFor({ timeout: 5000 });
    await (await late2).finished();
    await page.waitForTimeout(200);
    assert.deepEqual(await page.locator("main h1").allTextContents(), ["Upstreams"]);
    assert.equal(await page.evaluate(() => location.hash), "#/upstreams");
  } finally {
    await page.close();
  }
});
