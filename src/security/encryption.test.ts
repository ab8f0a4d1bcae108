import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { testStoreConformance } from "../../test/store-conformance/index.ts";
import { createSessionStore } from "../store/core.ts";
import type { ReplicaTarget, StoreDriver } from "../store/driver.ts";
import { createMemoryDriver } from "../store/drivers/memory.ts";
import { createSqliteDriver } from "../store/drivers/sqlite.ts";
import { createTieredDriver } from "../store/tiered.ts";
import { createKeyring } from "./encryption/keyring.ts";
import { sealedStoreLimits } from "./encryption/sealed-limits.ts";
import { withEncryption } from "./encryption/with-encryption.ts";

const keyring = createKeyring([{ kid: "k1", key: randomBytes(32) }]);
const dir = mkdtempSync(join(tmpdir(), "holdfast-enc-"));
/** The store under the decorator takes the sealed form of an item (state) at the plaintext limit. */
const limits = sealedStoreLimits();
after(() => rmSync(dir, { recursive: true, force: true }));

testStoreConformance({
  name: "memory + encryption",
  sealed: true,
  open: async (clock) =>
    withEncryption(createSessionStore(createMemoryDriver(), { clock, ...limits }), { keyring }),
});

testStoreConformance({
  name: "sqlite + encryption",
  sealed: true,
  open: async (clock) =>
    withEncryption(
      createSessionStore(createSqliteDriver({ path: join(dir, "enc.db") }), { clock, ...limits }),
      {
        keyring,
      },
    ),
});

// Tiered: the hot replica copies sealed items with their seqs, which the blobs are bound to.
testStoreConformance({
  name: "tiered memory > memory + encryption",
  sealed: true,
  open: async (clock) => {
    const hot = createMemoryDriver() as StoreDriver & ReplicaTarget;
    const tiered = createTieredDriver({ hot, durable: createMemoryDriver() });
    return withEncryption(createSessionStore(tiered, { clock, ...limits }), { keyring });
  },
});
