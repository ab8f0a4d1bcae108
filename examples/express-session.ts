/**
 * express-session + Holdfast: two parallel requests change different keys of one session and
 * both changes survive (the stock MemoryStore keeps only the later one). Sessions in SQLite.
 *
 *   node_modules/.bin/node --conditions=holdfast-source examples/express-session.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import session from "express-session";
import { createStore } from "holdfast";
import { HoldfastSessionStore } from "holdfast/adapters/express-session";

declare module "express-session" {
  interface SessionData {
    user?: string;
    theme?: string;
    cart?: string[];
  }
}

const dir = await mkdtemp(join(tmpdir(), "holdfast-example-"));
const store = await createStore(`sqlite:${join(dir, "sessions.db")}`);
const app = express();
app.use(
  session({
    store: new HoldfastSessionStore({ store, tenant: "web" }),
    secret: "change-me",
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 30 * 60_000 }, // becomes the Holdfast session's idle TTL
  }),
);
let pending = 0;
let release: () => void = () => {};
const bothLoaded = new Promise<void>((resolve) => {
  release = resolve;
});
app.get("/login", (req, res) => {
  req.session.user = "ada";
  res.send("ok");
});
// Each handler waits until both requests have loaded the session: the race, on purpose.
app.get("/theme", async (req, res) => {
  if (++pending === 2) release();
  await bothLoaded;
  req.session.theme = "dark";
  res.send("ok");
});
app.get("/cart", async (req, res) => {
  if (++pending === 2) release();
  await bothLoaded;
  req.session.cart = ["book"];
  res.send("ok");
});
app.get("/me", (req, res) => {
  res.json({ user: req.session.user, theme: req.session.theme, cart: req.session.cart });
});

const server = app.listen(0, "127.0.0.1");
await new Promise<void>((resolve) => server.once("listening", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
// express-session sends the last byte of a response only once the session is saved: read the
// whole body to know the save is done.
async function get(path: string, cookie = ""): Promise<{ cookie: string; body: string }> {
  const response = await fetch(`${base}${path}`, { headers: { cookie } });
  const body = await response.text();
  return { cookie: response.headers.get("set-cookie")?.split(";")[0] ?? cookie, body };
}

try {
  const { cookie } = await get("/login");
  await Promise.all([get("/theme", cookie), get("/cart", cookie)]);
  const me = JSON.parse((await get("/me", cookie)).body);
  console.log(`session: ${JSON.stringify(me)}`);
  console.log("express-session: ok");
} finally {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
