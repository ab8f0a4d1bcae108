import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { createApiKeys } from "../../security/api-keys.ts";
import { createKeyring } from "../../security/encryption/keyring.ts";
import { withEncryption } from "../../security/encryption/with-encryption.ts";
import { createSystemRecords } from "../../security/system-records.ts";
import { createStore } from "../../store/create-store.ts";
import { MAX_DAYS, MAX_GRACE_SECONDS } from "./keys.ts";

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, "..", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "holdfast-keys-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = `sqlite:${join(dir, "cli.db")}`;

async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
  return stdout;
}

describe("holdfast keys", () => {
  it("creates, lists, rotates and revokes keys through the library", async () => {
    const created = JSON.parse(
      await cli([
        "keys",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "responses,conversations:read",
        "--name",
        "ci",
        "--json",
        "--store",
        store,
      ]),
    );
    assert.match(created.secret, /^hf_/);
    const listed = JSON.parse(
      await cli(["keys", "list", "--tenant", "acme", "--json"], { HOLDFAST_STORE: store }),
    );
    assert.deepEqual(
      listed.map((k: { keyId: string }) => k.keyId),
      [created.keyId],
    );
    assert.ok(!JSON.stringify(listed).includes(created.secret));
    const rotated = JSON.parse(await cli(["keys", "rotate", created.keyId, "--json", "--store", store]));
    assert.equal(rotated.replaced, created.keyId);
    await cli(["keys", "revoke", rotated.keyId, "--store", store]);
    const table = await cli(["keys", "list", "--tenant", "acme", "--store", store]);
    assert.match(table, /KEY ID\s+PREFIX\s+STATE/);
    assert.equal((table.match(/revoked/g) ?? []).length, 2);
    const opened = await createStore(store);
    const api = createApiKeys({ records: createSystemRecords(opened) });
    await assert.rejects(api.authenticate(created.secret), /Incorrect API key/);
    await assert.rejects(api.authenticate(rotated.secret), /Incorrect API key/);
    await opened.close();
  });

  it("re-wraps data keys with rotate-master and explains a missing keyring", async () => {
    const old = { kid: "old", key: randomBytes(32) };
    const fresh = { kid: "new", key: randomBytes(32) };
    const opened = await createStore(store);
    const enc = withEncryption(opened, { keyring: createKeyring([old]) });
    const s = await enc.create("acme", { state: { x: 1 } });
    await opened.close();
    const keys = `new:${fresh.key.toString("base64")},old:${old.key.toString("base64")}`;
    const out = JSON.parse(
      await cli(["keys", "rotate-master", "--json", "--store", store], { HOLDFAST_KEYS: keys }),
    );
    assert.deepEqual(out, { activeKid: "new", records: 1, rewrapped: 1 });
    const reopened = await createStore(store);
    const onlyNew = withEncryption(reopened, { keyring: createKeyring([fresh]) });
    assert.deepEqual((await onlyNew.get("acme", s.id)).state, { x: 1 });
    await reopened.close();
    await assert.rejects(
      run(process.execPath, [MAIN, "keys", "rotate-master", "--store", store], {
        env: { ...process.env, HOLDFAST_KEYS: "", HOLDFAST_KEY_FILE: "" },
      }),
      (error: { code?: number; stderr?: string }) =>
        error.code === 2 && /No keyring/.test(error.stderr ?? ""),
    );
  });

  it("docs/security.md states the caps the flags enforce", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "..", "docs", "security.md"), "utf8");
    const flat = doc.replace(/\s+/g, " ");
    assert.match(flat, new RegExp(`\`--expires-in-days\` is a whole number from 1 to ${MAX_DAYS}\\b`));
    assert.match(flat, new RegExp(`\`--grace-seconds\` one from 0 to ${MAX_GRACE_SECONDS}\\b`));
  });
});
