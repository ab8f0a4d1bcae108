/**
 * The dashboard's layout with the longest owner and label the store accepts, in a real browser
 * (Debian's Chromium via playwright-core): unbroken text wraps in its cell instead of pushing the
 * other columns (or the whole page) sideways.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { createServer } from "../../src/server/create-server.ts";
import { createStore } from "../../src/store/create-store.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { launchChromium, listenBase, signIn } from "./browser.ts";

const ADMIN_KEY = "dashboard-test-admin-key-0004";
/** The longest owner (256 characters) and label (64) the store accepts, with no space to break at. */
const OWNER = "o".repeat(256);
const LABEL = "l".repeat(64);

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let longId: string;

before(async () => {
  store = await createStore("memory:");
  await store.create("default", { owner: "alice", labels: ["support"] });
  const long = await store.create("default", {
    owner: OWNER,
    labels: [LABEL, "x"],
    metadata: { note: "m".repeat(200) },
    items: [{ content: { type: "message", role: "user", content: "hello" } }],
  });
  longId = long.id;
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

/** How far the page scrolls sideways (0: it fits the window). */
const pageOverflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test("a 256-character owner and a 64-character label wrap instead of widening the page", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await signIn(page, base, ADMIN_KEY);
    await page.getByRole("link", { name: longId }).waitFor();
    // Every column of the list is on screen at a desktop width: the table needs no sideways scroll.
    const table = await page.evaluate(() => {
      const wrap = document.querySelector(".table-wrap") as HTMLElement;
      return { scroll: wrap.scrollWidth, client: wrap.clientWidth };
    });
    assert.ok(table.scroll <= table.client + 1, `the list fits (${table.scroll}px in ${table.client}px)`);
    await page.getByRole("columnheader", { name: "Created" }).waitFor();
    const created = await page.getByRole("columnheader", { name: "Created" }).boundingBox();
    assert.ok(created && created.x + created.width <= 1280, "the last column is on screen");

    // The session page on a phone: owner, labels and metadata wrap in their facts.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.getByRole("link", { name: longId }).click();
    await page.getByRole("heading", { name: longId }).waitFor();
    await page.getByText(OWNER).waitFor();
    const overflow = await pageOverflow(page);
    assert.ok(overflow <= 1, `the session page fits 375 px (overflow ${overflow}px)`);
  } finally {
    await page.close();
  }
});
