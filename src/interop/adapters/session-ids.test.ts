import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SESSION_ID_PATTERN } from "../../store/ids.ts";
import { sessionIdFor } from "./session-ids.ts";

describe("sessionIdFor", () => {
  it("keeps Holdfast ids, prefixes ids that fit and hashes the rest", () => {
    assert.equal(sessionIdFor("conv_0123456789abcdef"), "conv_0123456789abcdef");
    assert.equal(sessionIdFor("aB3dE6gH9jK2mN5p"), "conv_aB3dE6gH9jK2mN5p");
    for (const odd of [
      "u1",
      "user 42",
      "x".repeat(200),
      "h_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "ü-ñ",
    ]) {
      const id = sessionIdFor(odd);
      assert.match(id, /^conv_h_/);
      assert.match(id, SESSION_ID_PATTERN);
      assert.equal(sessionIdFor(odd), id, "deterministic");
    }
    assert.notEqual(sessionIdFor("u1"), sessionIdFor("u2"));
    assert.throws(() => sessionIdFor(""), { code: "invalid_argument" });
  });
});
