/**
 * Two processes (a CLI and a daemon) queueing appends offline into one file storage: when the
 * network returns, every message of both is sent, once, each process's in its own order.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { importSpecifier, runModuleChild } from "./child-process-test-support.ts";
import { createHoldfastClient } from "./client.ts";
import { createOfflineClient } from "./offline-client.ts";
import { createFileStorage } from "./storage/file-storage.ts";
import { startTestServer, type TestServer, texts } from "./test-support.ts";

const here = (file: string) => importSpecifier(import.meta.dirname, file);

/** Queues `count` messages `<name>-<i>` while the server cannot be reached (port 1 refuses). */
const offlineWriter = `
import { createHoldfastClient } from ${here("client.ts")};
import { createOfflineClient } from ${here("offline-client.ts")};
import { createFileStorage } from ${here("storage/file-storage.ts")};
const [path, conversationId, name, count] = process.argv.slice(-4);
const storage = await createFileStorage(path);
const client = createHoldfastClient({ baseUrl: "http://127.0.0.1:1" });
const offline = createOfflineClient({ client, storage, retryDelayMs: 0, events: null });
for (let i = 0; i < Number(count); i++) {
  await offline.append(conversationId, [{ role: "user", content: name + "-" + i }]);
}
await offline.close();
await storage.close();
`;

const runChild = (args: string[]) => runModuleChild(offlineWriter, args);

describe("offline queue shared by processes", () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "holdfast-client-outbox-"));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("two processes queueing offline into one file: every message is sent once, in each one's order", async () => {
    const path = join(dir, "offline.json");
    const client = createHoldfastClient({ baseUrl: server.baseUrl });
    const id = (await client.conversations.create()).id;
    const count = 12;
    const runs = await Promise.all([
      runChild([path, id, "cli", String(count)]),
      runChild([path, id, "daemon", String(count)]),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);

    const storage = await createFileStorage(path);
    const offline = createOfflineClient({ client, storage, retryDelayMs: 0, events: null });
    assert.equal((await offline.pending(id)).length, 2 * count, "every queued message is still queued");
    assert.equal((await offline.flush()).stoppedBy, null);
    const sent = texts(await client.items.listAll(id));
    assert.equal(sent.length, 2 * count);
    for (const name of ["cli", "daemon"]) {
      assert.deepEqual(
        sent.filter((text) => text.startsWith(`${name}-`)),
        Array.from({ length: count }, (_, i) => `${name}-${i}`),
      );
    }
    assert.equal((await offline.pending()).length, 0);
    await offline.close();
    await storage.close?.();
  });
});
