import assert from "node:assert/strict";
import { test } from "node:test";
import { digestsEqual, sha256Hex } from "./secrets.ts";

test("digestsEqual: equal digests only, whatever the lengths and characters", () => {
  const digest = sha256Hex("hf_secret");
  assert.equal(digestsEqual(digest, sha256Hex("hf_secret")), true);
  assert.equal(digestsEqual(digest, sha256Hex("hf_secreT")), false);
  assert.equal(digestsEqual(digest, digest.slice(0, 63)), false);
  assert.equal(digestsEqual(digest, ""), false);
  // Same UTF-16 length, different byte lengths: no throw from timingSafeEqual, just false.
  assert.equal(digestsEqual(`${digest.slice(0, 63)}é`, digest), false);
  assert.equal(digestsEqual("é", "é"), true);
});
