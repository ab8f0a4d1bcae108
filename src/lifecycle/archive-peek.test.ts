/**
 * `archivedItemsReader` reads an archived session's items without restoring it; over encryption
 * at rest the archive holds sealed items (the archiver copies the base store's rows), which the
 * encrypting store's `openItems` turns back into plaintext.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createKeyring } from "../security/encryption/keyring.ts";
import { withEncryption } from "../security/encryption/with-encryption.ts";
import { createStore } from "../store/create-store.ts";
import { createDirectoryArchiveBackend } from "./archive-files.ts";
import { archivedItemsReader } from "./archive-peek.ts";
import { createArchiver } from "./archiver.ts";

test("an encrypted session's archive is read as plaintext, and the session stays archived", async () => {
  const dir = await mkdtemp(join(tmpdir(), "holdfast-archive-peek-"));
  const base = await createStore(`sqlite:${join(dir, "store.db")}`);
  const backend = createDirectoryArchiveBackend(join(dir, "archives"));
  try {
    const encrypted = withEncryption(base, { keyring: createKeyring([{ kid: "k1", key: randomBytes(32) }]) });
    const content = { type: "message", role: "user", content: "plover-zebra-7731" };
    const session = await encrypted.create("t", { items: [{ content }] });
    assert.equal((await createArchiver(base, { backend }).archive("t", session.id)).archived, true);

    const sealed = await archivedItemsReader(backend)("t", session.id);
    assert.doesNotMatch(JSON.stringify(sealed), /plover-zebra/, "the archive holds the sealed items");
    const read = archivedItemsReader(backend, (tenant, id, items) => encrypted.openItems(tenant, id, items));
    assert.deepEqual(
      (await read("t", session.id)).map((i) => i.content),
      [content],
    );
    assert.equal((await base.get("t", session.id)).status, "archived");
    await assert.rejects(read("t", "conv_00000000000000000000000000000000"), { code: "not_found" });
  } finally {
    await backend.close();
    await base.close();
    await rm(dir, { recursive: true, force: true });
  }
});
