/**
 * The CLI's paths into an encrypted store keep the item and state limits on the caller's bytes,
 * as serve does: `sessions import` with HOLDFAST_KEYS takes a backup whose item and state are at
 * the 1 MiB limit (their sealed forms are larger), and `migrate`, which copies rows without a
 * keyring, copies those sealed rows. Real binary, real SQLite files.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sizedBody } from "../../test/store-conformance/size-limits.ts";
import { createStoredTokenCounter } from "../engine/context/stored-tokens.ts";
import { atRestStoreOptions, encryptAtRest } from "../security/at-rest.ts";
import { parseKeyring } from "../security/encryption/keyring.ts";
import { createStore } from "../store/create-store.ts";
import type { JsonObject } from "../store/types.ts";
import { LIMITS } from "../store/validate.ts";
import { runCli } from "./cli-helpers.ts";

const KEYS = `k1:${randomBytes(32).toString("base64")}`;
const ITEM = sizedBody(LIMITS.itemBytes, { type: "message", role: "user" }, "text");
const STATE = sizedBody(LIMITS.stateBytes, {}, "note");

/** The session's items' content and state, read as serve reads them (with the keys). */
async function readAsServe(url: string, id: string): Promise<{ items: JsonObject[]; state: JsonObject }> {
  const keyring = parseKeyring(KEYS);
  const countTokens = createStoredTokenCounter();
  const base = await createStore(atRestStoreOptions({ url, countTokens }, keyring));
  const store = encryptAtRest(base, { keyring, countTokens });
  assert.ok(store);
  try {
    const items = (await store.readItems("default", id)).map((item) => item.content);
    return { items, state: (await store.get("default", id)).state };
  } finally {
    await store.close();
  }
}

describe("the CLI and the size limits of an encrypted store", () => {
  let dir: string;
  let id: string;
  const sealed = () => `sqlite:${join(dir, "sealed.db")}`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-cli-enc-size-"));
    const plain = `sqlite:${join(dir, "plain.db")}`;
    const source = await createStore(plain);
    id = (await source.create("default", { state: STATE, items: [{ content: ITEM }] })).id;
    await source.close();
    const backup = join(dir, "backup.jsonl");
    const exported = await runCli(["sessions", "export", "--store", plain, "--out", backup]);
    assert.equal(exported.code, 0, exported.stderr);
    const imported = await runCli(["sessions", "import", backup, "--store", sealed()], {
      env: { HOLDFAST_KEYS: KEYS },
    });
    assert.equal(imported.code, 0, imported.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("sessions import seals an item and a state at the limit", async () => {
    assert.deepEqual(await readAsServe(sealed(), id), { items: [ITEM], state: STATE });
  });

  it("migrate copies the sealed rows of an item and a state at the limit", async () => {
    const target = `sqlite:${join(dir, "copy.db")}`;
    const tenants = ["--tenant", "default", "--tenant", "_hf_data_key"]; // the data keys come along
    const res = await runCli(["migrate", "--from", sealed(), "--to", target, ...tenants, "--json"]);
    assert.equal(res.code, 0, res.stderr || res.stdout);
    assert.deepEqual(JSON.parse(res.stdout).mismatches, []);
    assert.deepEqual(await readAsServe(target, id), { items: [ITEM], state: STATE });
  });
});
