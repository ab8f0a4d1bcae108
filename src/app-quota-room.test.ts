import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { roomBounds } from "./app-quota-room.ts";

describe("roomBounds: what quota compaction keeps verbatim", () => {
  it("keeps half of what each limit leaves besides the input (and the summary item)", () => {
    assert.deepEqual(
      roomBounds({ items: 12, bytes: 10_000, tokens: null }, { items: 1, bytes: 2_000, tokens: 500 }),
      { items: 5, bytes: 4_000, tokens: null },
    );
  });

  it("answers why not when the input alone leaves no room under a limit", () => {
    const said = roomBounds({ items: null, bytes: null, tokens: 100 }, { items: 1, bytes: 10, tokens: 101 });
    assert.equal(
      said,
      "This input alone (101 tokens) leaves no room under the limit: compaction cannot help.",
    );
    // With items, the summary needs one more.
    assert.equal(
      typeof roomBounds({ items: 3, bytes: null, tokens: null }, { items: 3, bytes: 0, tokens: 0 }),
      "string",
    );
    assert.deepEqual(roomBounds({ items: 3, bytes: null, tokens: null }, { items: 2, bytes: 0, tokens: 0 }), {
      items: 0,
      bytes: null,
      tokens: null,
    });
  });
});
