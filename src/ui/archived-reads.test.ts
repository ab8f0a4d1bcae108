/**
 * The dashboard's scans never restore archived sessions: the served store (`withArchives`)
 * restores a session on read, so the Usage view and the Sessions model filter would undo the
 * sweeper's work for every archived session they looked at. Opening one session may restore it
 * (an explicit read); listing and aggregating must not.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import { createDirectoryArchiveBackend } from "../lifecycle/archive-files.ts";
import { archivedItemsReader } from "../lifecycle/archive-peek.ts";
import { type Archiver, createArchiver, withArchives } from "../lifecycle/archiver.ts";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { registerDashboard } from "./server.ts";
import { type Seeded, seedDashboardStore } from "./test-seed.ts";

const KEY = "admin-key-0123456789abcdef";

describe("dashboard scans leave archived sessions archived", () => {
  let dir: string;
  let base: SessionStore;
  let archiver: Archiver;
  let app: FastifyInstance;
  let cookie: string;
  let seeded: Seeded;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "holdfast-ui-archived-reads-"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Holdfast</title>");
    base = await createStore("memory:");
    seeded = await seedDashboardStore(base);
    archiver = createArchiver(base, { backend: createDirectoryArchiveBackend(join(dir, "archives")) });
    app = Fastify();
    app.setErrorHandler(handleError);
    const store = withArchives(base, archiver);
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dir, env: {} });
    await app.ready();
    const signIn = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
    cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
  });
  after(async () => {
    await app.close();
    await archiver.backend.close();
    await base.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function archive(id: string): Promise<void> {
    assert.equal((await archiver.archive("default", id)).archived, true);
  }
  const statusOf = async (id: string) => (await base.get("default", id)).status;

  test("Usage without an archive reader does not restore archived sessions, and says how many it left out", async () => {
    await archive(seeded.chatId);
    const res = await app.inject({ url: "/ui/api/usage?days=30", headers: { cookie } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await statusOf(seeded.chatId), "archived", "the usage scan restored it");
    const report = res.json();
    const ids = report.topSessions.map((s: { id: string }) => s.id);
    assert.ok(ids.length > 0 && !ids.includes(seeded.chatId));
    assert.deepEqual([report.archivedSessions, report.archivedExcluded], [0, 1]);
  });

  /** A second dashboard over the same store, with the options `holdfast serve` passes when the lifecycle runs. */
  async function withServeOptions(
    check: (get: (url: string) => Promise<LightMyRequestResponse>) => Promise<void>,
  ): Promise<void> {
    const reading = Fastify();
    reading.setErrorHandler(handleError);
    registerDashboard(reading, {
      store: withArchives(base, archiver),
      archivedItems: archivedItemsReader(archiver.backend),
      peekSession: (tenant, id) => base.get(tenant, id),
      adminKey: KEY,
      host: "0.0.0.0",
      distDir: dir,
      env: {},
    });
    try {
      const signIn = await reading.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
      const session = String(signIn.headers["set-cookie"]).split(";")[0]!;
      await check((url) => reading.inject({ url, headers: { cookie: session } }));
    } finally {
      await reading.close();
    }
  }

  test("Usage with the archive reader counts an archived session's turns from its archive, leaving it archived", async () => {
    await withServeOptions(async (get) => {
      const res = await get("/ui/api/usage?days=30");
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(await statusOf(seeded.chatId), "archived", "the usage scan restored it");
      const report = res.json();
      const chat = report.topSessions.find((s: { id: string }) => s.id === seeded.chatId);
      // The seeded chat's two turns: 420 + 35 and 510 + 12 tokens, $0.0012 + $0.0031.
      assert.deepEqual(chat && [chat.turns, chat.tokens, Number(chat.costUsd.toFixed(4))], [2, 977, 0.0043]);
      assert.ok(report.archivedSessions >= 1);
      assert.equal(report.archivedExcluded, 0);
    });
  });

  test("with the archive reader the model filter finds archived sessions in their archives, leaving them archived", async () => {
    const claude = seeded.sessionIds[4]!; // filler 2: a claude-sonnet-4-5 turn
    const mini = seeded.sessionIds[5]!; // filler 3: a gpt-4o-mini turn
    await archive(claude);
    await archive(mini);
    await withServeOptions(async (get) => {
      const res = await get("/ui/api/sessions?model=claude-sonnet-4-5&limit=200");
      assert.equal(res.statusCode, 200, res.body);
      const ids = res.json().data.map((s: { id: string }) => s.id);
      assert.ok(ids.includes(claude), "the archived claude session matches");
      assert.ok(!ids.includes(mini), "the archived gpt-4o-mini session does not");
      assert.equal(res.json().archivedUnchecked, 0);
      assert.deepEqual([await statusOf(claude), await statusOf(mini)], ["archived", "archived"]);
    });
  });

  test("the model filter reads a session a caller marked archived from the store, and skips one whose archive is gone", async () => {
    const marked = seeded.sessionIds[6]!; // filler 4: claude-sonnet-4-5, status set by hand, items in place
    const lost = seeded.sessionIds[8]!; // filler 6: claude-sonnet-4-5, archived, then its archive removed
    await base.update("default", marked, { status: "archived" });
    await archive(lost);
    await archiver.backend.remove("default", lost);
    await withServeOptions(async (get) => {
      const res = await get("/ui/api/sessions?model=claude-sonnet-4-5&limit=200");
      assert.equal(res.statusCode, 200, res.body);
      const ids = res.json().data.map((s: { id: string }) => s.id);
      assert.ok(ids.includes(marked) && !ids.includes(lost), JSON.stringify(ids));
      assert.equal(res.json().archivedUnchecked, 1);
      assert.deepEqual([await statusOf(marked), await statusOf(lost)], ["archived", "archived"]);
    });
    await base.update("default", marked, { status: "active" });
  });

  test("searching an archived session's id lists it as archived without restoring it", async () => {
    const id = seeded.sessionIds[9]!;
    await archive(id);
    await withServeOptions(async (get) => {
      const res = await get(`/ui/api/sessions?q=${id}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        res.json().data.map((s: { id: string; status: string }) => [s.id, s.status]),
        [[id, "archived"]],
      );
      assert.equal(await statusOf(id), "archived", "the search restored it");
    });
  });

  test("the model filter skips archived sessions instead of restoring them", async () => {
    const other = seeded.sessionIds[2]!;
    await archive(other);
    const res = await app.inject({ url: "/ui/api/sessions?model=claude-sonnet-4-5", headers: { cookie } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await statusOf(other), "archived", "the model filter restored it");
    assert.ok(res.json().data.length > 0, "active sessions still match");
    assert.ok(res.json().archivedUnchecked >= 1, "it says how many archived sessions it could not check");
    // Opening the session is an explicit read: that one restores it.
    assert.equal(
      (await app.inject({ url: `/ui/api/sessions/${other}`, headers: { cookie } })).statusCode,
      200,
    );
    assert.equal(await statusOf(other), "active");
  });
});
