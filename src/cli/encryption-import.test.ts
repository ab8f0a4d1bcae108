/**
 * Imports through the CLI and encryption at rest: without HOLDFAST_KEYS, one into a store that
 * encrypts is refused before anything is written (a plaintext session there would break the
 * deployment's promise), and a file holding ciphertext is refused keys or not (it would be stored
 * as content). Real binary, real SQLite files and a Postgres schema.
 */
import assert from "node:assert/strict";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import { copyFixture } from "../interop/openclaw/test-fixture.ts";
import { exportSessions } from "../interop/portable/index.ts";
import { createStore } from "../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../store/drivers/postgres-test-support.ts";
import { runCli } from "./cli-helpers.ts";
import { KEYS, message, openAsServe } from "./encryption-cli-test-support.ts";

const SECRET = "import-marker-2c81e0";
const REFUSED =
  /This store holds encrypted sessions \(encryption at rest is on\): set HOLDFAST_KEYS or HOLDFAST_KEY_FILE \(the keys `holdfast serve` uses\) to write sessions into it/;

/** The ids of the `default` tenant's sessions, read past any encryption. */
async function sessionIds(url: string): Promise<string[]> {
  const store = await createStore(url);
  try {
    return (await store.list("default", { limit: 1000 })).data.map((s) => s.id).sort();
  } finally {
    await store.close();
  }
}

/** A store holding one encrypted session (written as serve writes it) and one plaintext one. */
async function encryptedStore(url: string): Promise<string[]> {
  const { base, store } = await openAsServe(url);
  await store.create("default", { items: [message("sealed")] });
  await base.create("default", { items: [message("written before HOLDFAST_KEYS was set")] });
  await store.close();
  return sessionIds(url);
}

describe("CLI imports and encryption at rest", () => {
  let dir: string;
  let backup: string;
  const schema = uniqueSchema("hf_cliat");
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-cli-enc-import-"));
    // A plaintext backup, from a store without encryption.
    const plain = `sqlite:${join(dir, "plain.db")}`;
    const source = await createStore(plain);
    await source.create("default", { items: [message(`${SECRET} one`), message(`${SECRET} two`)] });
    await source.close();
    backup = join(dir, "backup.jsonl");
    const exported = await runCli(["sessions", "export", "--store", plain, "--out", backup]);
    assert.equal(exported.code, 0, exported.stderr);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  it("sessions import and openclaw import exit 2 naming HOLDFAST_KEYS and write nothing (SQLite)", async () => {
    const url = `sqlite:${join(dir, "sealed.db")}`;
    const before = await encryptedStore(url);
    const fixture = copyFixture();
    try {
      for (const args of [
        ["sessions", "import", backup],
        ["sessions", "import", backup, "--on-conflict", "skip"],
        ["openclaw", "import", fixture.dir],
      ]) {
        const run = await runCli([...args, "--store", url]);
        assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
        assert.match(run.stderr, REFUSED, args.join(" "));
      }
      assert.deepEqual(await sessionIds(url), before);
      const raw = readdirSync(dir)
        .filter((f) => f.startsWith("sealed.db"))
        .map((f) => readFileSync(join(dir, f)).toString("latin1"))
        .join("");
      assert.equal(raw.includes(SECRET), false, "the backup's plaintext is in the SQLite file");

      // With the keys the same imports go through, sealed.
      const env = { HOLDFAST_KEYS: KEYS };
      const imported = await runCli(["sessions", "import", backup, "--store", url], { env });
      assert.equal(imported.code, 0, imported.stderr);
      const openclaw = await runCli(["openclaw", "import", fixture.dir, "--store", url], { env });
      assert.notEqual(openclaw.code, 2, openclaw.stderr);
      assert.doesNotMatch(openclaw.stderr, REFUSED);
      assert.ok((await sessionIds(url)).length > before.length + 1);
    } finally {
      fixture.cleanup();
    }
  });

  it("a keyless sessions import into an encrypted Postgres store exits 2 and writes nothing", async () => {
    const url = schemaUrl(schema);
    const before = await encryptedStore(url);
    const run = await runCli(["sessions", "import", backup, "--store", url]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, REFUSED);
    assert.deepEqual(await sessionIds(url), before);
  });

  it("a store without encrypted sessions still takes a keyless import", async () => {
    const url = `sqlite:${join(dir, "clear.db")}`;
    const store = await createStore(url);
    await store.create("default", { items: [message("clear")] });
    await store.close();
    const run = await runCli(["sessions", "import", backup, "--store", url, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).imported, 1);
  });

  it("an export holding ciphertext (an old keyless export) exits 2 naming its line, keys or not", async () => {
    // The export as stored: the sealed items a build before the keyless refusal wrote out.
    const url = `sqlite:${join(dir, "old.db")}`;
    const { base, store } = await openAsServe(url);
    const sealed = await store.create("default", { items: [message(`${SECRET} sealed`)] });
    const file = join(dir, "ciphertext.jsonl");
    const out = createWriteStream(file);
    await exportSessions(base, "default", {}, out);
    out.end();
    await finished(out);
    await store.close();
    assert.match(readFileSync(file, "utf8"), /hf_enc/);

    for (const env of [{}, { HOLDFAST_KEYS: KEYS }] as Record<string, string>[]) {
      const target = `sqlite:${join(dir, `target-${Object.keys(env).length}.db`)}`;
      const run = await runCli(["sessions", "import", file, "--store", target], { env });
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `Portable file, line 3: item 'msg_\\w+' of session '${sealed.id}' holds content sealed by encryption at rest \\('hf_enc'\\)`,
        ),
      );
      assert.match(run.stderr, /Export the sessions again with HOLDFAST_KEYS or HOLDFAST_KEY_FILE set/);
      assert.deepEqual(await sessionIds(target), []);
    }
  });

  it("the help of both imports says so", async () => {
    for (const args of [
      ["sessions", "import", "--help"],
      ["openclaw", "import", "--help"],
    ]) {
      const help = await runCli(args);
      assert.equal(help.code, 0, help.stderr);
      assert.match(
        help.stdout.replace(/\s+/g, " "),
        /Without the keyring, an import into a store that holds encrypted sessions exits 2 before writing anything/,
      );
      if (args[0] === "sessions")
        assert.match(help.stdout, /A file holding content sealed by encryption at rest/);
    }
  });
});
