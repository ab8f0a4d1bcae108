/**
 * What the dashboard's browser tests share: Debian's Chromium through playwright-core, started
 * with the flags this closed network needs (without them it keeps trying to reach Google), and a
 * served Fastify app's base URL.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.HOLDFAST_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set HOLDFAST_CHROMIUM).`,
  );
  return chromium.launch({
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
}

/** Listens on a free loopback port; the base URL (`http://127.0.0.1:<port>`). */
export async function listenBase(app: FastifyInstance): Promise<string> {
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === "object");
  return `http://127.0.0.1:${address.port}`;
}

/** Signs `page` in with the admin key and waits for the Sessions view. */
export async function signIn(page: Page, base: string, adminKey: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.getByLabel("Admin key").fill(adminKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Sessions", level: 1 }).waitFor();
}
