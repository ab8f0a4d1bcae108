/**
 * The dashboard's per-session export of a session the lifecycle archived: with the served store
 * (`withArchives`) it is restored and exported with its items; an archive that is gone is a 404
 * and a store that cannot restore a 409 — never a 200 with the session and no items.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify from "fastify";
import { createDirectoryArchiveBackend } from "../lifecycle/archive-files.ts";
import { type Archiver, createArchiver, withArchives } from "../lifecycle/archiver.ts";
import { handleError } from "../server/errors.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { registerDashboard } from "./server.ts";

const KEY = "admin-key-0123456789abcdef";
const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

describe("dashboard export of an archived session", () => {
  let dir: string;
  let base: SessionStore;
  let archiver: Archiver;
  const backend = () => archiver.backend;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "holdfast-ui-archived-"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Holdfast</title>");
    base = await createStore("memory:");
    archiver = createArchiver(base, { backend: createDirectoryArchiveBackend(join(dir, "archives")) });
  });
  after(async () => {
    await backend().close();
    await base.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function exportOf(store: SessionStore, id: string): Promise<{ status: number; body: string }> {
    const app = Fastify();
    app.setErrorHandler(handleError);
    registerDashboard(app, { store, adminKey: KEY, host: "0.0.0.0", distDir: dir, env: {} });
    await app.ready();
    try {
      const signIn = await app.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
      const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
      const res = await app.inject({ url: `/ui/api/sessions/${id}/export`, headers: { cookie } });
      return { status: res.statusCode, body: res.body };
    } finally {
      await app.close();
    }
  }

  async function archived(texts: string[]): Promise<string> {
    const { id } = await base.create("default", { items: texts.map(say) });
    assert.equal((await archiver.archive("default", id)).archived, true);
    return id;
  }

  test("a store that cannot restore answers 409 conflict naming the archive", async () => {
    const id = await archived(["a"]);
    const res = await exportOf(base, id);
    assert.equal(res.status, 409, res.body);
    assert.match(JSON.parse(res.body).error.message, /archived by the lifecycle archiver/);
  });

  test("the served store restores it and the export holds its items", async () => {
    const id = await archived(["a", "b"]);
    const res = await exportOf(withArchives(base, archiver), id);
    assert.equal(res.status, 200, res.body);
    const lines = res.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.filter((l) => l.kind === "item").map((l) => l.item.content.content),
      ["a", "b"],
    );
  });

  test("an archive that is gone answers 404 not_found", async () => {
    const id = await archived(["c"]);
    await backend().remove("default", id);
    const res = await exportOf(withArchives(base, archiver), id);
    assert.equal(res.status, 404, res.body);
    assert.equal(JSON.parse(res.body).error.code, "not_found");
  });
});
