/**
 * The demo chat page in Chromium against an in-process server: messages sent online, then
 * offline (network emulation), a reload while offline (the queue lives in IndexedDB, the page
 * in the service worker's cache), a second browser editing the same conversation meanwhile
 * (forcing a rebase), and back online — the server transcript must hold every message exactly
 * once, in order.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildDemoAssets } from "../../examples/chat-demo/assets.ts";
import { createHoldfastClient } from "../../src/client/client.ts";
import { startTestServer, type TestServer, texts } from "../../src/client/test-support.ts";
import { launchChromium } from "../ui/browser.ts";

const ARTIFACTS = "test-artifacts/client-e2e";
describe("chat demo offline in Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  /** 409s the server sent to item appends: the rebase must have happened, not been dodged. */
  let conflicts = 0;

  before(async () => {
    const assets = await buildDemoAssets();
    server = await startTestServer({
      extend: (app) => {
        app.addHook("onResponse", async (request, reply) => {
          if (request.method === "POST" && request.url.endsWith("/items") && reply.statusCode === 409)
            conflicts++;
        });
        app.get<{ Params: { "*": string } }>(
          "/demo/*",
          { config: { public: true } },
          async (request, reply) => {
            const asset = assets.get(request.params["*"]);
            if (!asset) return reply.code(404).send();
            return reply
              .header("content-type", asset.type)
              .header("cache-control", "no-cache")
              .send(asset.body);
          },
        );
      },
    });
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function send(page: Page, text: string): Promise<void> {
    await page.fill("#message", text);
    await page.click("#send");
    await page.waitForFunction(
      (t) => Array.from(document.querySelectorAll("#messages li")).some((li) => li.textContent === t),
      text,
    );
  }
  const badge = (page: Page): Promise<string | null> =>
    page.evaluate(() => {
      const el = document.getElementById("queued") as HTMLElement;
      return el.hidden ? null : el.textContent;
    });

  test("queued offline, survives a reload, rebased over another device's edit, exactly once in order", async () => {
    const a = await browser.newContext();
    const pageA = await a.newPage();
    pageA.setDefaultTimeout(15_000);
    const errors: string[] = [];
    pageA.on("pageerror", (error) => errors.push(String(error)));
    await pageA.goto(`${server.baseUrl}/demo/`);
    await pageA.waitForSelector("body[data-ready=true]");
    // The app shell must be cached before the network goes away.
    await pageA.evaluate(() => navigator.serviceWorker.ready.then(() => true));

    await pageA.click("#new-conversation");
    await pageA.waitForFunction(() =>
      document.getElementById("conversation-title")?.textContent?.startsWith("conv_"),
    );
    const id = (await pageA.textContent("#conversation-title")) as string;

    // Online: a live turn, streamed from the mock model.
    await send(pageA, "m1");
    await pageA.waitForSelector("#messages li.assistant");
    await send(pageA, "m2");
    await pageA.waitForFunction(() => document.querySelectorAll("#messages li.assistant").length === 2);

    // Offline: messages are queued.
    await a.setOffline(true);
    await pageA.waitForSelector("#status[data-online=false]");
    await send(pageA, "m3");
    await send(pageA, "m4");
    assert.equal(await badge(pageA), "2 queued");
    await pageA.screenshot({ path: `${ARTIFACTS}/1-offline-queued.png` });

    // Reload while offline: the page comes from the service worker, the queue from IndexedDB.
    await pageA.reload();
    await pageA.waitForSelector("body[data-ready=true]");
    await pageA.waitForFunction(() => document.querySelectorAll("#messages li.pending").length === 2);
    assert.equal(await badge(pageA), "2 queued");
    await send(pageA, "m5");
    assert.equal(await badge(pageA), "3 queued");
    await pageA.screenshot({ path: `${ARTIFACTS}/2-reloaded-offline.png` });

    // Meanwhile another device writes to the same conversation.
    const b = await browser.newContext();
    const pageB = await b.newPage();
    pageB.setDefaultTimeout(15_000);
    await pageB.goto(`${server.baseUrl}/demo/#${id}`);
    await pageB.waitForSelector("body[data-ready=true]");
    await pageB.uncheck("#auto-reply");
    await send(pageB, "from B");
    await pageB.waitForFunction(() => document.getElementById("queued")?.hidden === true);
    await pageB.screenshot({ path: `${ARTIFACTS}/3-other-device.png` });

    // Back online: the queue is rebased on B's write and sent.
    await a.setOffline(false);
    await pageA.waitForFunction(() => document.getElementById("queued")?.hidden === true);
    await pageA.waitForFunction(() => document.querySelectorAll("#messages li.pending").length === 0);
    await pageA.screenshot({ path: `${ARTIFACTS}/4-synced.png` });

    const client = createHoldfastClient({ baseUrl: server.baseUrl });
    const items = await client.items.listAll(id);
    const users = texts(items.filter((item) => item.role === "user"));
    assert.deepEqual(users, ["m1", "m2", "from B", "m3", "m4", "m5"]);
    assert.equal(items.filter((item) => item.role === "assistant").length, 2);
    // The page shows the server's transcript, including B's message.
    const shown = await pageA.$$eval("#messages li.user", (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(shown, users);
    assert.equal(conflicts, 1, "A's first queued append hit B's write and was rebased");
    assert.deepEqual(errors, []);
    await a.close();
    await b.close();
  });
});
