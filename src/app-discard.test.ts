/**
 * `HoldfastApp.discard()` removes the SQLite store a start created, for a start that failed or was
 * stopped before it said it is listening — but not once the app has served a request: that
 * request may have written to the store (a session, a key), and discarding would lose it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createHoldfastApp } from "./app.ts";
import { testServerConfig } from "./config/test-server-config.ts";

describe("HoldfastApp.discard()", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-app-discard-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("removes the SQLite store the start created while no request was served", async () => {
    const db = path.join(dir, "unused", "holdfast.db");
    const holdfast = await createHoldfastApp({
      config: testServerConfig({ store: `sqlite:${db}` }),
      env: {},
    });
    assert.equal(existsSync(db), true);
    await holdfast.discard();
    assert.equal(existsSync(path.dirname(db)), false);
  });

  test("keeps it once a request was served: it holds what that request wrote", async () => {
    const db = path.join(dir, "used", "holdfast.db");
    const holdfast = await createHoldfastApp({
      config: testServerConfig({ store: `sqlite:${db}` }),
      env: {},
    });
    const created = await holdfast.app.inject({ method: "POST", url: "/v1/conversations", payload: {} });
    assert.equal(created.statusCode, 200, created.body);
    await holdfast.discard();
    assert.equal(existsSync(db), true, "the conversation just created was thrown away");
  });
});
