import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Item, JsonObject } from "../../store/types.ts";
import { clearMarker, collectVisibleTail, dropMarker } from "./edit-log.ts";

type Op = { kind: "push" } | { kind: "drop"; count: number } | { kind: "clear" };

function toItems(ops: Op[]): Item[] {
  return ops.map((op, index) => {
    const content: JsonObject =
      op.kind === "push"
        ? { type: "message", n: index }
        : op.kind === "drop"
          ? dropMarker(op.count)
          : clearMarker();
    return {
      seq: index + 1,
      id: `i${index}`,
      type: String(content.type),
      role: null,
      status: null,
      content,
      tokens: 0,
      bytes: 0,
      turnId: null,
      createdAt: 0,
    };
  });
}

/** The reference: replay forwards as a mutable list. */
function replay(ops: Op[]): number[] {
  let list: number[] = [];
  ops.forEach((op, index) => {
    if (op.kind === "push") list.push(index);
    else if (op.kind === "drop") list = list.slice(0, Math.max(0, list.length - op.count));
    else list = [];
  });
  return list;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "push" } as const) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ kind: "drop", count }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" } as const) },
);

describe("edit log", () => {
  it("the backwards walk equals a forward replay, for any limit and page size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 60 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 7 }),
        async (ops, limit, pageSize) => {
          const items = toItems(ops);
          const readPage = async (beforeSeq: number): Promise<Item[]> =>
            items
              .filter((item) => item.seq < beforeSeq)
              .reverse()
              .slice(0, pageSize);
          const visible = await collectVisibleTail(items.length, limit, readPage);
          const expected = replay(ops);
          assert.deepEqual(
            visible.map((item) => item.content.n),
            expected.slice(Math.max(0, expected.length - limit)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads only as far back as the limit needs", async () => {
    const items = toItems(Array.from({ length: 1000 }, () => ({ kind: "push" }) as const));
    let reads = 0;
    const visible = await collectVisibleTail(items.length, 3, async (beforeSeq) => {
      reads++;
      return items
        .filter((item) => item.seq < beforeSeq)
        .reverse()
        .slice(0, 10);
    });
    assert.equal(visible.length, 3);
    assert.equal(reads, 1);
  });
});
