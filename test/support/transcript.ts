/**
 * Transcript checks for busy-policy tests: every turn's items form one unbroken block — its
 * input items, then its output items, then its response record — so no two turns interleaved.
 */
import assert from "node:assert/strict";
import type { Item } from "../../src/store/types.ts";

/** Asserts the block structure and returns the number of turns found. */
export function assertTurnsDoNotInterleave(items: readonly Item[]): number {
  const bySeq = new Map(items.map((i) => [i.id, i.seq]));
  let turns = 0;
  let end = 0;
  for (const record of items) {
    if (record.type !== "response_record") continue;
    turns += 1;
    const ids = [
      ...(record.content.input_item_ids as string[]),
      ...(record.content.output_item_ids as string[]),
    ];
    const seqs = ids.map((id) => bySeq.get(id));
    const first = record.seq - ids.length;
    assert.deepEqual(
      seqs,
      ids.map((_, k) => first + k),
      `turn ${record.id}: its input and output must directly precede its record`,
    );
    assert.equal(first, end + 1, `turn ${record.id} starts right after the previous turn`);
    end = record.seq;
  }
  return turns;
}
