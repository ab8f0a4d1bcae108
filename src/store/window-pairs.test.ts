import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pairSafeStart } from "./window-pairs.ts";

const call = (id: string) => ({ type: "function_call", callId: id });
const output = (id: string) => ({ type: "function_call_output", callId: id });
const message = { type: "message", callId: null };

describe("pairSafeStart", () => {
  const items = [call("a"), output("a"), output("b"), message, call("c"), output("c")];

  it("starts after the last orphan output", () => {
    assert.equal(pairSafeStart(items), 3);
    assert.equal(pairSafeStart([message, call("a"), output("a")]), 0);
  });

  it("with `from`, pairs only the items from there on and answers an index of the whole array", () => {
    // From 1, the call of output "a" is outside: "a" is an orphan too, but "b" comes later.
    assert.equal(pairSafeStart(items, 1), 3);
    assert.equal(pairSafeStart(items, 3), 3);
    assert.equal(pairSafeStart(items, 5), 6);
    assert.equal(pairSafeStart(items, 6), 6);
  });
});
