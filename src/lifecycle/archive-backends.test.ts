/**
 * Every archive backend (dir, SQLite table, Postgres table) × every compression (gzip, zstd):
 * restore round-trip, retention, corrupt archive → archive_corrupt with the stub intact, a
 * failing backend loses nothing, archives survive a compression change.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { createSessionStore } from "../store/core.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { adminQuery, dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import type { SessionStore } from "../store/types.ts";
import { createMemoryActionLog } from "./action-log.ts";
import type { ArchiveBackend } from "./archive-backend.ts";
import { archivePath } from "./archive-files.ts";
import { type ArchiveCompression, zstdAvailable } from "./archive-format.ts";
import { openArchiveBackend } from "./archive-open.ts";
import { type ArchiveResult, createArchiver, withArchives } from "./archiver.ts";
import { type ArchiveSettings, parseLifecycleConfig } from "./config.ts";
import { parseLifecyclePolicy } from "./policy.ts";
import { createSweeper } from "./sweeper.ts";

const root = mkdtempSync(join(tmpdir(), "holdfast-archive-backends-"));
const schema = uniqueSchema();
after(async () => {
  rmSync(root, { recursive: true, force: true });
  await dropSchema(schema);
});

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

interface Case {
  name: string;
  settings: (compression: ArchiveCompression) => ArchiveSettings;
  /** Damages the stored archive of one session. */
  corrupt: (settings: ArchiveSettings, tenant: string, id: string) => Promise<void>;
}

const sqlitePath = join(root, "archives.db");
const CASES: Case[] = [
  {
    name: "dir",
    settings: (compression) => ({ backend: "dir", dir: join(root, "dir"), url: null, compression }),
    corrupt: async (s, tenant, id) => truncateSync(archivePath(s.dir, tenant, id, s.compression), 30),
  },
  {
    name: "sqlite",
    settings: (compression) => ({ backend: "sqlite", dir: "", url: `sqlite:${sqlitePath}`, compression }),
    corrupt: async (_s, tenant, id) => {
      const db = new DatabaseSync(sqlitePath);
      db.prepare(
        "UPDATE holdfast_archives SET data = substr(data, 1, 30) WHERE tenant = ? AND session_id = ?",
      ).run(tenant, id);
      db.close();
    },
  },
  {
    name: "postgres",
    settings: (compression) => ({ backend: "postgres", dir: "", url: schemaUrl(schema), compression }),
    corrupt: async (_s, tenant, id) => {
      await adminQuery(
        `UPDATE "${schema}".holdfast_archives SET data = substring(data from 1 for 30) WHERE tenant = $1 AND session_id = $2`,
        [tenant, id],
      );
    },
  },
];

async function seed(store: SessionStore, tenant: string, n: number) {
  return store.create(tenant, {
    idleTtlMs: 60_000,
    state: { step: n },
    items: Array.from({ length: n }, (_, i) => msg(`m${i} é \u2028`)),
  });
}

/** Node 22.13–22.14 has no zstd (the backends fall back to gzip, tested below). */
const NO_ZSTD = zstdAvailable() ? false : `this Node.js (${process.version}) has no zstd`;

for (const c of CASES) {
  for (const compression of ["gzip", "zstd"] as const) {
    describe(`archive backend ${c.name} (${compression})`, {
      skip: compression === "zstd" && NO_ZSTD,
    }, () => {
      const settings = c.settings(compression);
      const setup = async () => {
        const clock = { now: Date.UTC(2026, 0, 1) };
        const base = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
        const { backend } = await openArchiveBackend(settings);
        const archiver = createArchiver(base, { backend, clock: () => clock.now, pageSize: 3 });
        return { clock, base, backend, archiver, store: withArchives(base, archiver) };
      };

      it("archives, leaves a stub, restores every item on first use and removes the archive", async () => {
        const { clock, base, backend, archiver, store } = await setup();
        try {
          assert.equal(backend.compression, compression);
          const s = await seed(base, `t-${compression}`, 8);
          const items = await base.readItems(s.tenant, s.id);
          clock.now += 120_000;
          const result = await archiver.archive(s.tenant, s.id, s.version);
          assert.equal(result.archived, true);
          assert.equal(result.items, 8);
          assert.ok(result.compressedBytes > 0);
          const stub = await base.get(s.tenant, s.id);
          assert.equal(stub.status, "archived");
          assert.deepEqual(await base.readItems(s.tenant, s.id), []);
          assert.deepEqual(await store.readItems(s.tenant, s.id), items, "restored transparently");
          assert.deepEqual((await base.get(s.tenant, s.id)).state, { step: 8 });
          await assert.rejects(backend.read(s.tenant, s.id), { code: "not_found" });
        } finally {
          await backend.close();
        }
      });

      it("keeps archives for their retention, then the sweeper purges stub and archive", async () => {
        const { clock, base, backend, archiver } = await setup();
        try {
          const tenant = `r-${compression}`;
          const s = await seed(base, tenant, 3);
          clock.now += 120_000;
          const policy = parseLifecyclePolicy({ archive: { retention: "1d" } });
          const sweeper = createSweeper({
            store: base,
            policy,
            archiver,
            actionLog: createMemoryActionLog(),
            clock: () => clock.now,
          });
          const first = await sweeper.plan({ tenant });
          assert.deepEqual(
            first.actions.map((a) => a.action),
            ["archive"],
          );
          await sweeper.apply(first);
          assert.equal((await backend.read(tenant, s.id)).items.length, 3);
          clock.now += 3_600_000;
          assert.deepEqual((await sweeper.plan({ tenant })).actions, [], "within retention");
          clock.now += 2 * 86_400_000;
          const late = await sweeper.plan({ tenant });
          assert.deepEqual(
            late.actions.map((a) => [a.action, a.reason]),
            [["purge_archive", "archive_retention"]],
          );
          await sweeper.apply(late);
          await assert.rejects(base.get(tenant, s.id), { code: "not_found" });
          await assert.rejects(backend.read(tenant, s.id), { code: "not_found" });
        } finally {
          await backend.close();
        }
      });

      it("a corrupt archive is archive_corrupt naming the session and place; the stub stays", async () => {
        const { clock, base, backend, archiver, store } = await setup();
        try {
          const s = await seed(base, `c-${compression}`, 50);
          clock.now += 120_000;
          assert.equal((await archiver.archive(s.tenant, s.id)).archived, true);
          await c.corrupt(settings, s.tenant, s.id);
          const error = await archiver.restore(s.tenant, s.id).then(
            () => assert.fail("restored a corrupt archive"),
            (e: { code: string; message: string }) => e,
          );
          assert.equal(error.code, "archive_corrupt");
          assert.match(error.message, new RegExp(`${s.id}.*corrupt`));
          await assert.rejects(store.readItems(s.tenant, s.id), { code: "archive_corrupt" });
          const stub = await base.get(s.tenant, s.id);
          assert.equal(stub.status, "archived");
          assert.equal(stub.itemCount, 50, "the stub is untouched");
        } finally {
          await backend.close();
        }
      });

      it("a restore removes only the archive it restored, not one a sweep wrote since", async () => {
        const { clock, base, backend } = await setup();
        // A sweep archives the session again between restoreItems and the removal of the archive.
        let rearchived = null as Promise<ArchiveResult> | null;
        const racing: ArchiveBackend = {
          kind: backend.kind,
          location: backend.location,
          compression: backend.compression,
          write: (driver, session, items) => backend.write(driver, session, items),
          read: (tenant, id) => backend.read(tenant, id),
          remove: async (tenant, id, only) => {
            rearchived ??= archiver.archive(tenant, id);
            await rearchived;
            return backend.remove(tenant, id, only);
          },
          close: () => backend.close(),
        };
        const archiver = createArchiver(base, { backend: racing, clock: () => clock.now, pageSize: 3 });
        try {
          const s = await seed(base, `race-${compression}`, 5);
          const items = await base.readItems(s.tenant, s.id);
          clock.now += 120_000;
          assert.equal((await archiver.archive(s.tenant, s.id)).archived, true);
          const restored = await archiver.restore(s.tenant, s.id);
          assert.equal(restored.status, "active");
          assert.equal((await rearchived)?.archived, true);
          const stub = await base.get(s.tenant, s.id);
          assert.equal(stub.status, "archived", "the sweep archived it again");
          const kept = await backend.read(s.tenant, s.id);
          assert.equal(kept.session.version, restored.version, "the new archive survived the restore");
          assert.equal((await archiver.restore(s.tenant, s.id)).itemCount, 5);
          assert.deepEqual(await base.readItems(s.tenant, s.id), items);
          await assert.rejects(backend.read(s.tenant, s.id), { code: "not_found" }, "then removed");
        } finally {
          await backend.close();
        }
      });

      it("loses nothing when the backend fails mid-archive", async () => {
        const { clock, base, backend, archiver } = await setup();
        const s = await seed(base, `f-${compression}`, 4);
        const items = await base.readItems(s.tenant, s.id);
        clock.now += 120_000;
        if (c.name === "dir") {
          // A file where the tenant's directory should be: the write fails.
          const { writeFileSync, mkdirSync } = await import("node:fs");
          mkdirSync(settings.dir, { recursive: true });
          writeFileSync(join(settings.dir, encodeURIComponent(s.tenant)), "not a directory");
        } else {
          await backend.close();
        }
        await assert.rejects(archiver.archive(s.tenant, s.id, s.version));
        const [after] = await (
          base as unknown as { driver: { scanSessions: (q: object) => Promise<{ status: string }[]> } }
        ).driver.scanSessions({ tenant: s.tenant, id: s.id, limit: 1 });
        assert.equal(after?.status, "active");
        clock.now -= 120_000;
        assert.deepEqual(await base.readItems(s.tenant, s.id), items);
        if (c.name === "dir") await backend.close();
      });
    });
  }

  it(`${c.name}: an archive written with one compression restores after switching to the other`, async () => {
    const clock = { now: Date.UTC(2026, 0, 1) };
    const base = createSessionStore(createMemoryDriver(), { clock: () => clock.now });
    const gz = (await openArchiveBackend(c.settings("gzip"))).backend;
    const s = await seed(base, "switch", 5);
    clock.now += 120_000;
    await createArchiver(base, { backend: gz, clock: () => clock.now }).archive(s.tenant, s.id);
    await gz.close();
    const zs = (await openArchiveBackend(c.settings("zstd"))).backend;
    try {
      const restored = await createArchiver(base, { backend: zs, clock: () => clock.now }).restore(
        s.tenant,
        s.id,
      );
      assert.equal(restored.itemCount, 5);
      assert.equal((await base.readItems(s.tenant, s.id)).length, 5);
    } finally {
      await zs.close();
    }
  });
}

it("dir: two writes of one session in the same millisecond both land, leaving no temporary file", async (t) => {
  const dir = join(root, "same-ms");
  const base = createSessionStore(createMemoryDriver());
  const s = await seed(base, "same-ms", 40);
  const items = await base.readItems(s.tenant, s.id);
  const { backend } = await openArchiveBackend({ backend: "dir", dir, url: null, compression: "gzip" });
  async function* slowly() {
    for (const item of items) {
      await new Promise((resolve) => setImmediate(resolve));
      yield item;
    }
  }
  t.mock.method(Date, "now", () => 1_700_000_000_000);
  try {
    const written = await Promise.all([
      backend.write("memory", s, slowly()),
      backend.write("memory", s, slowly()),
    ]);
    assert.deepEqual(
      written.map((w) => w.items),
      [40, 40],
    );
  } finally {
    t.mock.restoreAll();
  }
  assert.equal((await backend.read(s.tenant, s.id)).items.length, 40);
  assert.deepEqual(
    readdirSync(join(dir, encodeURIComponent(s.tenant))).filter((f) => f.endsWith(".tmp")),
    [],
  );
  await backend.close();
});

describe("archive configuration", () => {
  it("falls back from zstd to gzip with a notice when the runtime has no zstd", async () => {
    const settings = parseLifecycleConfig({
      archive: { dir: join(root, "fallback"), compression: "zstd" },
    }).archive;
    const { backend, notices } = await openArchiveBackend(settings, { zstd: false });
    assert.equal(backend.compression, "gzip");
    assert.match(notices[0] ?? "", /zstd.*gzip/);
    const native = await openArchiveBackend(settings);
    assert.equal(
      native.backend.compression,
      zstdAvailable() ? "zstd" : "gzip",
      "zstd where this Node has it",
    );
    assert.equal(native.notices.length, zstdAvailable() ? 0 : 1);
  });

  it("validates lifecycle.archive with messages naming the setting and the fix", () => {
    const bad: [unknown, RegExp][] = [
      [{ backend: "s3" }, /lifecycle\.archive\.backend must be one of dir, sqlite, postgres/],
      [{ compression: "lz4" }, /lifecycle\.archive\.compression must be one of gzip, zstd/],
      [{ backend: "postgres" }, /lifecycle\.archive\.url must be a postgres URL like 'postgres:/],
      [{ backend: "sqlite", url: "postgres://x/y" }, /lifecycle\.archive\.url must be a sqlite URL/],
      [{ url: "sqlite:x.db" }, /lifecycle\.archive\.url is only read by the sqlite and postgres backends/],
      [
        { backend: "postgres", url: "postgres://h/db", dir: "./x" },
        /lifecycle\.archive\.dir is only read by the dir backend/,
      ],
      [{ bucket: "x" }, /lifecycle\.archive/],
    ];
    for (const [archive, message] of bad) {
      assert.throws(() => parseLifecycleConfig({ archive }), message, JSON.stringify(archive));
    }
    const sqlite = parseLifecycleConfig({ archive: { backend: "sqlite" } }).archive;
    assert.equal(sqlite.url, "sqlite:./data/archives.db");
  });

  it("names the unreachable archive database at start-up", async () => {
    const settings = parseLifecycleConfig({
      archive: { backend: "postgres", url: "postgres://postgres:secret@127.0.0.1:1/test" },
    }).archive;
    await assert.rejects(openArchiveBackend(settings), (error: { code: string; message: string }) => {
      assert.equal(error.code, "unavailable");
      assert.match(error.message, /archive database/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });
});
