import assert from "node:assert/strict";
import { test } from "node:test";
import { createStore } from "../store/create-store.ts";
import { migrate, sessionChecksum } from "./migrate.ts";

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

test("migrate resumes by source seq when the source has gaps of deleted items", async () => {
  const source = await createStore("memory:");
  const target = await createStore("memory:");
  const s = await source.create("t", { items: ["a", "b", "c", "d"].map(say) });
  const [, b, c] = await source.readItems("t", s.id);
  await source.deleteItem("t", s.id, b!.id);
  await source.deleteItem("t", s.id, c!.id);
  const first = await migrate(source, target, { tenants: ["t"], pageSize: 2 });
  assert.deepEqual(first.mismatches, []);
  assert.equal(first.items, 2);
  // New items after the gaps: only they are copied on the next run.
  await source.append("t", s.id, ["e", "f"].map(say));
  const second = await migrate(source, target, { tenants: ["t"], pageSize: 2 });
  assert.deepEqual(second.mismatches, []);
  assert.equal(second.items, 2);
  assert.deepEqual(await sessionChecksum(target, "t", s.id), await sessionChecksum(source, "t", s.id));
  assert.equal((await target.get("t", s.id)).itemCount, 4);
  await Promise.all([source.close(), target.close()]);
});
