/**
 * The dashboard's buttons when the API refuses, in a real browser (Debian's Chromium via
 * playwright-core): the session was deleted meanwhile (404) or the sign-in ended (401). The
 * page must say why, in the status region, not drop the error as an unhandled rejection.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { createArchiver } from "../../src/lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../src/lifecycle/policy.ts";
import { createSweeper } from "../../src/lifecycle/sweeper.ts";
import { createServer } from "../../src/server/create-server.ts";
import { createSessionStore } from "../../src/store/core.ts";
import { createMemoryDriver } from "../../src/store/drivers/memory.ts";
import type { SessionStore } from "../../src/store/types.ts";
import { registerDashboard } from "../../src/ui/server.ts";
import { launchChromium, listenBase, signIn as signInAs } from "./browser.ts";

const ADMIN_KEY = "dashboard-test-admin-key-0003";

let store: SessionStore;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let archiveDir: string;

before(async () => {
  // Two sessions idle for two days: the cleanup plan has actions to enforce.
  const clock = { offset: -2 * 86_400_000 };
  store = createSessionStore(createMemoryDriver(), { clock: () => Date.now() + clock.offset });
  for (let i = 0; i < 2; i++) {
    await store.create("default", {
      items: [{ content: { type: "message", role: "user", content: "old" } }],
    });
  }
  clock.offset = 0;
  archiveDir = await mkdtemp(join(tmpdir(), "holdfast-ui-errors-"));
  const sweeper = createSweeper({
    store,
    policy: parseLifecyclePolicy({ defaults: { idle_ttl: "1d" } }),
    archiver: createArchiver(store, { dir: archiveDir }),
  });
  app = await createServer({ store });
  registerDashboard(app, { store, adminKey: ADMIN_KEY, host: "127.0.0.1", sweeper, env: {} });
  base = await listenBase(app);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  if (archiveDir) await rm(archiveDir, { recursive: true, force: true });
});

async function signedInPage(): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await signInAs(page, base, ADMIN_KEY);
  return { page, pageErrors };
}

const statusText = (page: Page) => page.locator("#status.error");

test("Fork, Compact and Delete on a session deleted meanwhile say so", async () => {
  const { page, pageErrors } = await signedInPage();
  try {
    const gone = await store.create("default", {
      items: [{ content: { type: "message", role: "user", content: "soon gone" } }],
    });
    await page.goto(`${base}/ui/#/session/${gone.id}`);
    await page.getByRole("heading", { name: gone.id }).waitFor();
    await store.delete("default", gone.id);

    // Each button in turn, the status region emptied before: each failure is announced by its own.
    const refused = async (click: () => Promise<void>, what: string): Promise<void> => {
      await page.evaluate(() => {
        const status = document.getElementById("status");
        if (status) status.textContent = "";
      });
      await click();
      await statusText(page)
        .filter({ hasText: `No session with id '${gone.id}'` })
        .waitFor({ timeout: 5000 })
        .catch(() => assert.fail(`${what}: no error shown`));
    };
    await refused(() => page.getByRole("button", { name: "Fork", exact: true }).click(), "Fork");
    await refused(async () => {
      await page.getByRole("button", { name: "Compact…" }).click();
      await page
        .getByRole("dialog", { name: "Compact this session?" })
        .getByRole("button", { name: "Compact now" })
        .click();
    }, "Compact");
    page.once("dialog", (dialog) => void dialog.accept());
    await refused(() => page.getByRole("button", { name: "Delete" }).click(), "Delete");
    assert.deepEqual(pageErrors, [], "no unhandled rejection");
  } finally {
    await page.close();
  }
});

test("Enforce after the sign-in ended says to sign in", async () => {
  const { page, pageErrors } = await signedInPage();
  try {
    await page.getByRole("link", { name: "Cleanup" }).click();
    await page.getByRole("heading", { name: "Cleanup", level: 1 }).waitFor();
    // Signed out elsewhere (another tab): the cookie is revoked.
    const { csrfToken } = await (await page.request.get(`${base}/ui/api/session`)).json();
    const out = await page.request.delete(`${base}/ui/api/session`, {
      headers: { "x-csrf-token": csrfToken },
    });
    assert.equal(out.status(), 200);
    await page.getByRole("button", { name: "Enforce…" }).click();
    await page
      .getByRole("dialog", { name: "Enforce the cleanup plan?" })
      .getByRole("button", { name: "Enforce now" })
      .click();
    await statusText(page).filter({ hasText: "Sign in to the dashboard first." }).waitFor({ timeout: 5000 });
    assert.equal((await store.list("default", { status: "archived" })).data.length, 0, "nothing enforced");
    assert.deepEqual(pageErrors, [], "no unhandled rejection");
  } finally {
    await page.close();
  }
});

test("Enforce shows its progress, then the plan as it is now beside the report", async () => {
  const { page, pageErrors } = await signedInPage();
  try {
    await page.getByRole("link", { name: "Cleanup" }).click();
    await page.getByRole("heading", { name: "Cleanup", level: 1 }).waitFor();
    const planRows = page
      .getByRole("table")
      .filter({ has: page.getByRole("columnheader", { name: "Idle", exact: true }) })
      .locator("tbody tr");
    assert.equal(await planRows.count(), 2, "the plan archives the two idle sessions");
    // A sweep of a big tenant takes a while: the browser holds the real answer back 1 s.
    await page.route("**/ui/api/cleanup/enforce*", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await route.continue();
    });
    await page.getByRole("button", { name: "Enforce…" }).click();
    await page
      .getByRole("dialog", { name: "Enforce the cleanup plan?" })
      .getByRole("button", { name: "Enforce now" })
      .click();
    await page.getByText("Enforcing 2 actions…").waitFor({ timeout: 500 });
    assert.equal(await page.getByRole("button", { name: "Enforce…" }).isDisabled(), true, "no second run");
    await page.getByText("Done: 2 of 2 actions").waitFor({ timeout: 5000 });
    // The plan shown is re-read: the archived sessions are gone from it, nothing is left to enforce.
    await page.getByText("Nothing to clean up.").waitFor({ timeout: 5000 });
    assert.equal(await planRows.count(), 0);
    assert.equal(await page.getByRole("button", { name: "Enforce…" }).isDisabled(), true);
    assert.equal(await page.getByText("Done: 2 of 2 actions").count(), 1, "the report stays");
    assert.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      await page.locator(".report").textContent(),
      "focus is on the report, not lost with the button it was on",
    );
    assert.equal((await store.list("default", { status: "archived" })).data.length, 2);
    assert.deepEqual(pageErrors, []);
  } finally {
    await page.close();
  }
});

test("an input cap past the server's limit is refused by the form, not by an error page", async () => {
  const { page, pageErrors } = await signedInPage();
  const session = await store.create("default", {
    items: [{ content: { type: "message", role: "user", content: "hello" } }],
  });
  try {
    await page.goto(`${base}/ui/#/session/${session.id}`);
    await page.getByRole("heading", { name: session.id }).waitFor();
    const cap = page.getByLabel("Input cap (tokens, optional)");
    await cap.fill("3000000"); // the API takes 1 to 2,000,000
    await page.getByRole("button", { name: "Recompute" }).click();
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => location.hash), `#/session/${session.id}`, "not submitted");
    assert.equal(await page.getByRole("heading", { name: "Something went wrong" }).count(), 0);
    assert.match(await cap.evaluate((input: HTMLInputElement) => input.validationMessage), /2000000/);
    // Within the limit it recomputes.
    await cap.fill("2000000");
    await page.getByRole("button", { name: "Recompute" }).click();
    await page.waitForFunction(() => location.hash.includes("windowTokens=2000000"));
    await page.getByRole("heading", { name: session.id }).waitFor();
    assert.deepEqual(pageErrors, []);
  } finally {
    await page.close();
    await store.delete("default", session.id);
  }
});

// Last in this file: it uses up this address's sign-in failures on the server under test.
test("a locked-out sign-in says how long to wait", async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}/ui/`);
    const alert = page.getByRole("alert");
    let locked = "";
    for (let attempt = 1; attempt <= 11 && !locked; attempt++) {
      await page.getByLabel("Admin key").fill(`wrong-key-${attempt}`);
      const answer = page.waitForResponse(
        (r) => r.url().endsWith("/ui/api/session") && r.request().method() === "POST",
      );
      await page.getByRole("button", { name: "Sign in" }).click();
      const response = await answer;
      if (response.status() === 429) {
        const retryAfter = response.headers()["retry-after"];
        await alert.filter({ hasText: "Too many" }).waitFor();
        locked = (await alert.textContent()) ?? "";
        // The operator reads the wait the Retry-After header gives, not "the indicated delay".
        assert.match(locked, new RegExp(`try again in ${retryAfter} seconds?\\.$`));
      }
    }
    assert.ok(locked, "the 11th failed sign-in is refused");
  } finally {
    await page.close();
  }
});
