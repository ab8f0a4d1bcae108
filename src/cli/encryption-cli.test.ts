/**
 * The CLI honours encryption at rest as `holdfast serve` does: with HOLDFAST_KEYS it seals what it
 * writes and opens what it reads; without them it refuses an encrypted session instead of printing
 * ciphertext as content or writing plaintext beside sealed items. Real binary, real SQLite files.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createStoredTokenCounter } from "../engine/context/stored-tokens.ts";
import { createArchiver } from "../lifecycle/index.ts";
import { atRestStoreOptions, encryptAtRest } from "../security/at-rest.ts";
import { DATA_KEY_KIND, dataKeyRecordKey } from "../security/encryption/data-keys.ts";
import { parseKeyring } from "../security/encryption/keyring.ts";
import { createSystemRecords } from "../security/system-records.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { runCli } from "./cli-helpers.ts";

const KEYS = `k1:${randomBytes(32).toString("base64")}`;
const SECRET = "plaintext-marker-7f3a9c";
const STATE_SECRET = "state-marker-51be02";

function message(text: string) {
  return { content: { type: "message", role: "user", content: [{ type: "input_text", text }] } };
}

/** The store opened as serve opens it with HOLDFAST_KEYS set: the one shared path. */
async function openAsServe(url: string): Promise<{ base: SessionStore; store: SessionStore }> {
  const countTokens = createStoredTokenCounter();
  const keyring = parseKeyring(KEYS);
  const base = await createStore(atRestStoreOptions({ url, countTokens }, keyring));
  const store = encryptAtRest(base, { keyring, countTokens });
  assert.ok(store);
  return { base, store };
}

/** Every byte of the SQLite file and its -wal/-shm companions, as latin1 text to search. */
function rawBytes(dir: string, name: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith(name))
    .map((f) => readFileSync(join(dir, f)).toString("latin1"))
    .join("");
}

describe("the CLI and encryption at rest (HOLDFAST_KEYS)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-cli-enc-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("sessions import seals what it writes; export, show and openclaw export give the plaintext back", async () => {
    // A plaintext backup, from a store without encryption.
    const plain = `sqlite:${join(dir, "plain.db")}`;
    const source = await createStore(plain);
    const made = await source.create("default", {
      state: { note: STATE_SECRET },
      items: [message(`${SECRET} one`), message(`${SECRET} two`)],
    });
    await source.close();
    const backup = join(dir, "backup.jsonl");
    const exported = await runCli(["sessions", "export", "--store", plain, "--out", backup]);
    assert.equal(exported.code, 0, exported.stderr);

    const url = `sqlite:${join(dir, "sealed.db")}`;
    const imported = await runCli(["sessions", "import", backup, "--store", url], {
      env: { HOLDFAST_KEYS: KEYS },
    });
    assert.equal(imported.code, 0, imported.stderr);
    const raw = rawBytes(dir, "sealed.db");
    assert.ok(raw.length > 0);
    assert.equal(raw.includes(SECRET), false, "an item's plaintext is in the SQLite file");
    assert.equal(raw.includes(STATE_SECRET), false, "the state's plaintext is in the SQLite file");

    // Serve, opening the store with the same keys, reads what the CLI imported.
    const { base, store } = await openAsServe(url);
    try {
      const sealed = await base.readItems("default", made.id);
      assert.ok(sealed.every((i) => !JSON.stringify(i.content).includes(SECRET)));
      const items = await store.readItems("default", made.id);
      assert.deepEqual(
        items.map((i) => (i.content.content as { text: string }[])[0]?.text),
        [`${SECRET} one`, `${SECRET} two`],
      );
      assert.deepEqual((await store.get("default", made.id)).state, { note: STATE_SECRET });
    } finally {
      await store.close();
    }

    const env = { HOLDFAST_KEYS: KEYS };
    const out = await runCli(["sessions", "export", "--store", url, "--out", "-"], { env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`${SECRET} two`));
    assert.match(out.stdout, new RegExp(STATE_SECRET));
    assert.doesNotMatch(out.stdout, /hf_enc/);
    const show = await runCli(["sessions", "show", made.id, "--store", url, "--json"], { env });
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout);
    assert.deepEqual(shown.state, { note: STATE_SECRET });
    assert.equal(shown.items[1].content[0].text, `${SECRET} two`);
    const transcript = await runCli(["openclaw", "export", made.id, "--store", url, "--out", "-"], { env });
    assert.equal(transcript.code, 0, transcript.stderr);
    assert.match(transcript.stdout, new RegExp(`${SECRET} one`));
    assert.doesNotMatch(transcript.stdout, /hf_enc/);
  });

  it("without the keys, reading or changing an encrypted session exits 2 naming HOLDFAST_KEYS", async () => {
    const url = `sqlite:${join(dir, "keyless.db")}`;
    const { base: plainStore, store } = await openAsServe(url);
    const session = await store.create("default", {
      state: { note: STATE_SECRET },
      items: [message(`${SECRET} a`), message(`${SECRET} b`), message(`${SECRET} c`)],
    });
    // One written without encryption (as by serve before HOLDFAST_KEYS was set): no data key.
    const clear = await plainStore.create("default", { items: [message("not secret")] });
    await store.close();

    const refused = new RegExp(
      `Session '${session.id}' is encrypted: set HOLDFAST_KEYS or HOLDFAST_KEY_FILE \\(the keys \`holdfast serve\` uses\\)`,
    );
    const commands = [
      ["sessions", "show", session.id, "--json"],
      ["sessions", "export", "--ids", session.id, "--out", "-"],
      ["sessions", "export", "--out", "-"],
      ["openclaw", "export", session.id, "--out", "-"],
      ["sessions", "fork", session.id],
      ["sessions", "compact", session.id, "--keep-recent-tokens", "1"],
    ];
    for (const args of commands) {
      const result = await runCli([...args, "--store", url]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, refused, args.join(" "));
      assert.doesNotMatch(result.stdout, /hf_enc/, args.join(" "));
    }

    // Nothing was written into it (no plaintext summary, no keyless fork).
    const { base, store: reopened } = await openAsServe(url);
    try {
      const after = await reopened.get("default", session.id);
      assert.equal(after.itemCount, 3);
      assert.equal((await base.list("default")).data.length, 2);
    } finally {
      await reopened.close();
    }
    // A plaintext session of the same store still reads without keys.
    const show = await runCli(["sessions", "show", clear.id, "--store", url, "--json"]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).items[0].content[0].text, "not secret");
  });

  it("an archived encrypted session exports with its archived items decrypted", async () => {
    const url = `sqlite:${join(dir, "archived.db")}`;
    const archives = join(dir, "archives");
    const { base, store } = await openAsServe(url);
    const session = await store.create("default", { items: [message(`${SECRET} archived`)] });
    // The archiver works on the plain store, as serve's sweeper does: the archive holds sealed items.
    assert.equal(
      (await createArchiver(base, { dir: archives }).archive("default", session.id)).archived,
      true,
    );
    await store.close();
    const env = { HOLDFAST_KEYS: KEYS };
    for (const args of [
      ["sessions", "export", "--ids", session.id, "--out", "-"],
      ["openclaw", "export", session.id, "--out", "-"],
    ]) {
      const out = await runCli([...args, "--archive-dir", archives, "--store", url], { env });
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`${SECRET} archived`), args.join(" "));
      assert.doesNotMatch(out.stdout, /hf_enc/, args.join(" "));
    }
  });

  it("the help of the commands on session contents names the keyring", async () => {
    for (const args of [
      ["sessions", "export"],
      ["sessions", "import"],
      ["openclaw", "export"],
    ]) {
      const help = await runCli([...args, "--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /HOLDFAST_KEYS or HOLDFAST_KEY_FILE, the keyring `holdfast serve` uses/);
    }
  });
});

describe("crypto-shredding from the CLI, with or without the keys", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-cli-shred-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Whether the session's data-key record is still stored. */
  async function hasDataKey(url: string, sessionId: string): Promise<boolean> {
    const store = await createStore(url);
    try {
      return (
        (await createSystemRecords(store).get(DATA_KEY_KIND, dataKeyRecordKey("default", sessionId))) !== null
      );
    } finally {
      await store.close();
    }
  }

  it("sessions rm without the keys destroys the session's data key", async () => {
    const url = `sqlite:${join(dir, "rm.db")}`;
    const { store } = await openAsServe(url);
    const made = await store.create("default", { items: [message(SECRET)] });
    await store.close();
    assert.equal(await hasDataKey(url, made.id), true);
    const rm = await runCli(["sessions", "rm", made.id, "--store", url]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(await hasDataKey(url, made.id), false);
  });

  it("cleanup --enforce destroys the data keys of the sessions it removed", async () => {
    const url = `sqlite:${join(dir, "cleanup.db")}`;
    const { store } = await openAsServe(url);
    const expired = await store.create("default", { idleTtlMs: 1, items: [message(SECRET)] });
    const kept = await store.create("default", { items: [message(SECRET)] });
    await store.close();
    const config = join(dir, "cleanup.yaml");
    writeFileSync(
      config,
      `lifecycle:\n  defaults: { on_expiry: delete }\n  action_log: ${JSON.stringify(join(dir, "actions.jsonl"))}\n`,
    );
    const later = new Date(Date.now() + 864e5).toISOString();
    const run = await runCli([
      "cleanup",
      "--store",
      url,
      "--config",
      config,
      "--now",
      later,
      "--enforce",
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { report: { done: number }; keysShredded: number };
    assert.equal(out.report.done, 1);
    assert.equal(out.keysShredded, 1);
    assert.equal(await hasDataKey(url, expired.id), false);
    assert.equal(await hasDataKey(url, kept.id), true);
  });
});
