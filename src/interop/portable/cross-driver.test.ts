/**
 * The portable format across every driver: memory → SQLite → Postgres → Redis → file, each hop
 * an export and an import through the public contract. Item content must stay byte-identical.
 * Uses the real services (unique Postgres schema, unique Redis prefix, both removed afterwards).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createStore } from "../../store/create-store.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "../../store/drivers/postgres-test-support.ts";
import type { SessionStore } from "../../store/types.ts";
import { exportSessions, importSessions } from "./index.ts";

const T = "xdrv";
const REDIS = process.env.HOLDFAST_TEST_REDIS ?? "redis://127.0.0.1:6379/0";
const prefix = `hftest-portable-${randomBytes(6).toString("hex")}`;
const schema = uniqueSchema("hf_portable");
const dir = mkdtempSync(join(tmpdir(), "holdfast-portable-x-"));

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

async function exportText(store: SessionStore): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await exportSessions(store, T, {}, out);
  out.end();
  return Buffer.concat(chunks).toString("utf8");
}

/** Item lines keyed by session and seq, with the content JSON exactly as written. */
function itemContents(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith('{"kind":"item"'))
    .map((l) => JSON.parse(l).item)
    .map((i) => `${i.id} ${i.seq} ${i.tokens} ${i.turnId} ${JSON.stringify(i.content)}`)
    .sort();
}

describe("portable round trip across drivers", () => {
  it("memory → sqlite → postgres → redis → file keeps items byte-identical", async () => {
    const source = await createStore("memory:");
    for (let s = 0; s < 3; s++) {
      const items = Array.from({ length: 40 }, (_, i) => ({
        content: {
          type: i % 3 === 0 ? "function_call" : "message",
          role: "user",
          call_id: `c${i}`,
          content: [
            { type: "input_text", text: `s${s} #${i} ünïcødé \u2028 "quoted" \\ 🚀 ${"x".repeat(i * 10)}` },
          ],
          nested: { z: 1, a: [1.5, -0, 1e21, null, true], "k y": {} },
        },
        turnId: i % 2 ? `turn-${i}` : undefined,
      }));
      await source.create(T, {
        labels: ["xdrv"],
        metadata: { s: String(s) },
        state: { deep: { v: s } },
        items,
      });
    }
    const hops = [`sqlite:${join(dir, "hop.db")}`, schemaUrl(schema), `${REDIS}?prefix=${prefix}`];
    let text = await exportText(source);
    await source.close();
    const original = itemContents(text);
    assert.equal(original.length, 120);
    for (const url of hops) {
      const store = await createStore(url);
      try {
        const summary = await importSessions(store, T, Readable.from([text]));
        assert.equal(summary.imported, 3, url);
        text = await exportText(store);
      } finally {
        await store.close();
      }
      assert.deepEqual(itemContents(text), original, url);
    }
    const file = join(dir, "final.jsonl");
    writeFileSync(file, text);
    assert.deepEqual(itemContents(readFileSync(file, "utf8")), original);
  });
});
