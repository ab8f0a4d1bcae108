/**
 * A restore that cannot happen (the archive was removed, is damaged, cannot be read) answers
 * without naming where archives live on the server: no directory, SQLite file or database in an
 * API answer, on the restore route, a turn's or a read's implicit restore, or the dashboard. The
 * operator finds the place in the server log (the error's `detail`).
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import type { ArchiveBackend } from "../../lifecycle/archive-backend.ts";
import { archivePath, createDirectoryArchiveBackend } from "../../lifecycle/archive-files.ts";
import { createSqliteArchiveBackend } from "../../lifecycle/archive-table-sqlite.ts";
import { type Archiver, createArchiver, withArchives } from "../../lifecycle/archiver.ts";
import { parseLifecyclePolicy } from "../../lifecycle/policy.ts";
import { createSweeper } from "../../lifecycle/sweeper.ts";
import { loggingOptions } from "../../observability/logging.ts";
import { createStore } from "../../store/create-store.ts";
import type { SessionStore } from "../../store/types.ts";
import { registerDashboard } from "../../ui/server.ts";
import { createServer } from "../create-server.ts";
import { handleError } from "../errors.ts";

const KEY = "admin-key-0123456789abcdef";
const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "holdfast-restore-errors-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  name: string;
  /** The backend, and the server-side names that must not reach an answer. */
  open(dir: string): { backend: ArchiveBackend; secrets: string[] };
  /** Damages the archive of one session so it cannot be read. */
  damage(dir: string, backend: ArchiveBackend, tenant: string, id: string): Promise<void>;
}

const CASES: Case[] = [
  {
    name: "dir, a file of garbage",
    open: (dir) => ({ backend: createDirectoryArchiveBackend(dir), secrets: [dir] }),
    damage: async (dir, _b, tenant, id) => writeFileSync(archivePath(dir, tenant, id), "not gzip"),
  },
  {
    // Unreadable: root reads any file whatever its mode, so a directory takes the file's place.
    name: "dir, an unreadable archive",
    open: (dir) => ({ backend: createDirectoryArchiveBackend(dir), secrets: [dir] }),
    damage: async (dir, _b, tenant, id) => {
      const path = archivePath(dir, tenant, id);
      rmSync(path);
      mkdirSync(path);
    },
  },
  {
    name: "sqlite, a row of garbage",
    open: (dir) => {
      const file = join(dir, "archives.db");
      return { backend: createSqliteArchiveBackend(file), secrets: [dir, file] };
    },
    damage: async (dir, _b, tenant, id) => {
      const { DatabaseSync } = await import("node:sqlite");
      const db = new DatabaseSync(join(dir, "archives.db"));
      db.prepare("UPDATE holdfast_archives SET data = ? WHERE tenant = ? AND session_id = ?").run(
        Buffer.from("not gzip"),
        tenant,
        id,
      );
      db.close();
    },
  },
];

function leaks(body: string, secrets: string[]): string[] {
  return secrets.filter((s) => body.includes(s) || body.includes(JSON.stringify(s).slice(1, -1)));
}

for (const c of CASES) {
  describe(`restore errors name no server path (${c.name})`, () => {
    let dir: string;
    let base: SessionStore;
    let archiver: Archiver;
    let secrets: string[];
    let lines: string[];
    let app: Awaited<ReturnType<typeof createServer>>;

    before(async () => {
      dir = join(root, c.name.replace(/\W+/g, "-"));
      const opened = c.open(dir);
      secrets = opened.secrets;
      base = await createStore("memory:");
      archiver = createArchiver(base, { backend: opened.backend });
      const store = withArchives(base, archiver);
      const policy = parseLifecyclePolicy({ defaults: { idle_ttl: "1h" } });
      const sweeper = createSweeper({ store: base, policy, archiver });
      lines = [];
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      app = await createServer({
        store,
        lifecycle: { sweeper, archiver },
        logging: loggingOptions({ stream, level: "warn" }),
      });
    });
    after(async () => {
      await app.close();
      await archiver.backend.close();
      await base.close();
    });

    async function archived(): Promise<string> {
      const s = await base.create("default", { items: [msg("a"), msg("b")] });
      assert.equal((await archiver.archive("default", s.id)).archived, true);
      return s.id;
    }

    it("a missing archive: 404 not_found naming the session, not the place; the log names the place", async () => {
      const id = await archived();
      await archiver.backend.remove("default", id);
      lines.length = 0;
      const res = await app.inject({ method: "POST", url: `/v1/conversations/${id}/restore` });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().error.code, "not_found");
      assert.match(res.json().error.message, new RegExp(id));
      assert.deepEqual(leaks(res.body, secrets), [], res.body);
      assert.ok(
        lines.some((l) => leaks(l, secrets).length > 0),
        `the server log names the archive's place: ${lines.join("")}`,
      );
    });

    it("a damaged archive: 500 archive_corrupt, on the restore route and on reads, naming no place", async () => {
      const id = await archived();
      await c.damage(dir, archiver.backend, "default", id);
      lines.length = 0;
      for (const [method, url] of [
        ["POST", `/v1/conversations/${id}/restore`],
        ["GET", `/v1/conversations/${id}`],
        ["GET", `/v1/conversations/${id}/items`],
      ] as const) {
        const res = await app.inject({ method, url });
        assert.equal(res.statusCode, 500, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().error.code, "archive_corrupt");
        assert.match(res.json().error.message, new RegExp(`${id}.*corrupt`));
        assert.deepEqual(leaks(res.body, secrets), [], `${method} ${url}: ${res.body}`);
      }
      assert.ok(
        lines.some((l) => leaks(l, secrets).length > 0),
        `the server log names the archive's place: ${lines.join("")}`,
      );
      assert.equal((await base.get("default", id)).status, "archived", "the stub is kept");
    });

    it("the dashboard opening a damaged archived session answers 500 naming no place", async () => {
      const id = await archived();
      await c.damage(dir, archiver.backend, "default", id);
      const distDir = join(dir, "dist");
      mkdirSync(distDir, { recursive: true });
      await writeFile(join(distDir, "index.html"), "<!doctype html><title>Holdfast</title>");
      const ui = Fastify();
      ui.setErrorHandler(handleError);
      registerDashboard(ui, {
        store: withArchives(base, archiver),
        adminKey: KEY,
        host: "0.0.0.0",
        distDir,
        env: {},
      });
      try {
        const signIn = await ui.inject({ method: "POST", url: "/ui/api/session", payload: { key: KEY } });
        const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;
        const res = await ui.inject({ url: `/ui/api/sessions/${id}`, headers: { cookie } });
        assert.equal(res.statusCode, 500, res.body);
        assert.equal(res.json().error.code, "archive_corrupt");
        assert.deepEqual(leaks(res.body, secrets), [], res.body);
      } finally {
        await ui.close();
      }
    });
  });
}
